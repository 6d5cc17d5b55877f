using System.Diagnostics.CodeAnalysis;

namespace Xmit;

/// <summary>Exceptions are for bugs only; hot paths return results. Throwing lives here so callers stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Bug(string message) => throw new InvalidOperationException("xmit bug: " + message);

    [DoesNotReturn]
    public static void Argument(string message, string param) => throw new ArgumentException(message, param);

    [DoesNotReturn]
    public static void OutOfRange(string param) => throw new ArgumentOutOfRangeException(param);
}
