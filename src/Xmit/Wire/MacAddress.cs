using System.Buffers.Binary;

namespace Xmit.Wire;

/// <summary>A 48-bit Ethernet address held in a ulong.</summary>
public readonly record struct MacAddress(ulong Value)
{
    public static readonly MacAddress Zero = new(0);
    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFFUL);

    public static MacAddress Read(ReadOnlySpan<byte> s) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(s) << 32) | BinaryPrimitives.ReadUInt32BigEndian(s[2..]));

    public void Write(Span<byte> s)
    {
        BinaryPrimitives.WriteUInt16BigEndian(s, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(s[2..], (uint)Value);
    }

    public bool IsBroadcast => Value == 0xFFFF_FFFF_FFFFUL;
    public bool IsMulticast => ((Value >> 40) & 1) != 0;
    public bool IsUnicast => !IsMulticast && Value != 0;

    /// <summary>A locally administered unicast address (02:...), as a simulator or TAP device would choose.</summary>
    public static MacAddress LocalAdministered(uint id) => new(0x0200_0000_0000UL | id);

    public static MacAddress Parse(string s)
    {
        var parts = s.Split(':');
        if (parts.Length != 6) throw new FormatException($"'{s}' is not a MAC address (aa:bb:cc:dd:ee:ff)");
        ulong v = 0;
        foreach (var p in parts) v = (v << 8) | Convert.ToByte(p, 16);
        return new MacAddress(v);
    }

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        Write(b);
        return $"{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}:{b[4]:x2}:{b[5]:x2}";
    }
}
