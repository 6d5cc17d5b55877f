using Xmit.Buffers;
using Xmit.Link;
using Xmit.Wire;

namespace Xmit.Tests.Link;

/// <summary>
/// skb_checksum over head, paged fragments and frag list gives the checksum of the same bytes laid out flat, whatever
/// the pieces' lengths (odd ones misalign what follows in the 16-bit sum) and wherever the range starts and ends.
/// </summary>
public class SkbChecksumSumTests
{
    [Theory]
    [InlineData(new[] { 40 }, 0)]
    [InlineData(new[] { 54, 1448 }, 0)]
    [InlineData(new[] { 54, 1448, 1448, 200 }, 0)]
    [InlineData(new[] { 53, 100, 7 }, 0)]
    [InlineData(new[] { 20, 33, 64, 5, 16 }, 0)]
    [InlineData(new[] { 14, 600, 601, 2 }, 1)]
    public void Sum_over_any_layout_matches_the_flat_bytes(int[] pieces, int fragList)
    {
        var pool = new SkBuffPool();
        var rnd = new Random(pieces.Length * 31 + fragList);
        var skb = pool.Alloc(pieces[0]);
        rnd.NextBytes(skb.Put(pieces[0]));
        for (int i = 1; i < pieces.Length; i++)
        {
            var page = pool.RentPage();
            rnd.NextBytes(page.Data.AsSpan(3, pieces[i]));
            skb.AddFrag(page, 3, pieces[i], truesize: pieces[i]);
        }
        for (int i = 0; i < fragList; i++)
        {
            var child = pool.Alloc(99);
            rnd.NextBytes(child.Put(99));
            skb.AppendToFragList(child);
        }
        var flat = new byte[skb.Len];
        Assert.True(skb.CopyBits(0, flat));
        foreach (int from in new[] { 0, 1, 13, 14, pieces[0], pieces[0] + 1, skb.Len / 2 })
            foreach (int to in new[] { skb.Len, skb.Len - 1, from + 2, from + 3 })
            {
                if (from > skb.Len || to > skb.Len || to < from) continue;
                ulong seed = 0x1234;
                Assert.Equal(Checksum.Fold(Checksum.AddScalar(seed, flat.AsSpan(from, to - from))), Checksum.Fold(SkbChecksum.Sum(skb, from, to - from, seed)));
            }
        skb.Free();
    }
}
