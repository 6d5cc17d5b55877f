namespace Xmit.Buffers;

/// <summary>A reference-counted page that page fragments of many skbs can point into.</summary>
/// <remarks>Linux: include/linux/mm.h get_page() / put_page()</remarks>
public sealed class Page
{
    internal Page(byte[] data) => Data = data;

    public byte[] Data { get; }
    public int RefCount { get; internal set; }
    internal SkBuffPool? Pool { get; set; }

    public void Get() => RefCount++;

    public void Put()
    {
        if (RefCount <= 0) ThrowHelper.Bug("put_page on a free page");
        if (--RefCount == 0) Pool!.ReturnPage(this);
    }
}

/// <summary>One paged fragment of an skb: a slice of a <see cref="Page"/>.</summary>
/// <remarks>Linux: include/linux/skbuff.h skb_frag_t</remarks>
public struct SkbFrag
{
    public Page Page;
    public int Offset;
    public int Size;

    public readonly Span<byte> Span => Page.Data.AsSpan(Offset, Size);
}
