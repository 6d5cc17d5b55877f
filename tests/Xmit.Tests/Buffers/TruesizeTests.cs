using System.Text.Json;
using Xmit.Buffers;
using Xmit.Tests.Support;
using Xmit.Time;
using Xmit.Wire;

namespace Xmit.Tests.Buffers;

/// <summary>skb->truesize against Linux's measured charges (linux-truth, "UDP: what a datagram costs the socket").</summary>
public class TruesizeTests
{
    public static TheoryData<int, int> Points()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "linux-truth", "udp-truesize.json")));
        var data = new TheoryData<int, int>();
        foreach (var p in doc.RootElement.GetProperty("points").EnumerateArray())
            data.Add(p.GetProperty("payload").GetInt32(), p.GetProperty("charge").GetInt32());
        return data;
    }

    /// <summary>
    /// Each IP fragment is one skb allocated by __ip_append_data with room for its IP length L, the 16-byte
    /// link reserve and 15 bytes of alignment slack; the datagram costs the sum of their truesizes.
    /// </summary>
    [Theory]
    [MemberData(nameof(Points))]
    public void Datagram_charge_matches_linux(int payload, int charge)
    {
        const int mtu = 1500;
        int maxFragData = (mtu - 20) & ~7;
        int left = payload + UdpDatagram.HeaderLength;
        int total = 0;
        do
        {
            int data = left > mtu - 20 ? maxFragData : left;
            total += Truesize.ForAllocSkb(data + 20 + 16 + 15);
            left -= data;
        } while (left > 0);
        Assert.Equal(charge, total);
    }

    /// <summary>The same figures through the stack: an unfragmented datagram charges its socket exactly this much.</summary>
    [Theory]
    [MemberData(nameof(Points))]
    public void Unfragmented_datagram_charges_its_socket_like_linux(int payload, int charge)
    {
        if (payload > 1472) return; // fragmented datagrams are built by ip_append_data (UDP socket work), not this helper
        using var net = new TwoHosts();
        var sk = net.A.Udp.Bind(TwoHosts.AddrA, 5000);
        net.WarmUp();
        net.A.Udp.SendDatagram(sk, TwoHosts.AddrA, 5000, TwoHosts.AddrB, 9, new byte[payload]);
        Assert.Equal(charge, sk.WmemHighWater);
        net.RunForMs(10);
        Assert.Equal(0, sk.WmemAlloc); // TX completion returned it
    }

    [Theory]
    [InlineData(0, 576)]
    [InlineData(256, 576)]
    [InlineData(257, 1024)]
    [InlineData(704, 1024)]
    [InlineData(705, 2048)]
    [InlineData(7872, 8192)]
    [InlineData(7873, 16384)]
    [InlineData(65600, 131072)]
    public void Head_allocation_size_classes(int size, int head) => Assert.Equal(head, Truesize.AllocSkbHead(size));

    [Fact]
    public void Usable_data_area_is_the_allocation_less_shared_info()
    {
        var pool = new SkBuffPool();
        var skb = pool.Alloc(1500 + 31);
        Assert.Equal(2048 - 320, skb.Tailroom);
        Assert.Equal(2304, skb.Truesize);
        skb.Free();
    }
}
