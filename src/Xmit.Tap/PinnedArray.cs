using System.Runtime.InteropServices;

namespace Xmit.Tap;

/// <summary>
/// An array on the pinned object heap, with its address: a buffer a system call reads or writes once or more per
/// frame is passed by address, so the P/Invoke has only blittable arguments (int, nint) and the JIT inlines it —
/// no IL stub pinning an array or a ref on every call. The array never moves, so the address stays good.
/// </summary>
internal sealed class PinnedArray<T> where T : unmanaged
{
    public PinnedArray(int length)
    {
        Array = GC.AllocateArray<T>(length, pinned: true);
        Address = length == 0 ? 0 : Marshal.UnsafeAddrOfPinnedArrayElement(Array, 0);
    }

    public T[] Array { get; }
    public nint Address { get; }
    public int Length => Array.Length;
    public Span<T> Span => Array;
}
