using Xmit.Wire;

namespace Xmit.Tests.Wire;

/// <summary>The vectorised Internet checksum gives the scalar word-by-word sum's result on any data.</summary>
public class ChecksumTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Vector_sum_equals_the_scalar_sum_for_random_data_lengths_and_alignments(int seed)
    {
        var rng = new Random(seed);
        var buffer = new byte[5000];
        for (int round = 0; round < 2000; round++)
        {
            rng.NextBytes(buffer);
            int offset = rng.Next(0, 64);
            int length = rng.Next(0, buffer.Length - offset);
            var data = buffer.AsSpan(offset, length);
            ulong start = (ulong)rng.NextInt64(0, 1L << 40);
            Assert.Equal(Checksum.Fold(Checksum.AddScalar(start, data)), Checksum.Fold(Checksum.Add(start, data)));
        }
    }

    [Theory]
    [InlineData(0x00, 64)]
    [InlineData(0xFF, 64)]
    [InlineData(0xFF, 33)]
    [InlineData(0xFF, 4 << 20)] // all lanes at their maximum across several 512 KiB blocks: no overflow
    [InlineData(0x01, (1 << 19) + 31)]
    [InlineData(0x80, 3 * 65536 + 1)]
    public void Vector_sum_equals_the_scalar_sum_at_the_edges(byte fill, int length)
    {
        var data = new byte[length];
        Array.Fill(data, fill);
        data[^1] ^= 0x5A; // an odd last byte and a non-uniform tail
        Assert.Equal(Checksum.Fold(Checksum.AddScalar(0, data)), Checksum.Fold(Checksum.Add(0, data)));
        Assert.Equal(Checksum.Fold(Checksum.AddScalar(0xFFFF, data)), Checksum.Fold(Checksum.Add(0xFFFF, data)));
    }

    [Fact]
    public void A_buffer_with_its_own_checksum_verifies_and_a_flipped_bit_does_not()
    {
        var rng = new Random(7);
        var data = new byte[1500];
        rng.NextBytes(data);
        data[16] = data[17] = 0;
        ushort c = Checksum.Compute(data);
        data[16] = (byte)(c >> 8);
        data[17] = (byte)c;
        Assert.True(Checksum.Verify(data));
        data[700] ^= 0x10;
        Assert.False(Checksum.Verify(data));
    }
}
