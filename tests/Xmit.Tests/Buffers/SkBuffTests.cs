using Xmit.Buffers;

namespace Xmit.Tests.Buffers;

public class SkBuffTests
{
    private sealed class CountingDestructor : ISkbDestructor
    {
        public int Calls;
        public void Destruct(SkBuff skb) => Calls++;
    }

    [Fact]
    public void Reserve_put_push_pull_keep_len_and_headroom()
    {
        var pool = new SkBuffPool(trackAllocations: true);
        var skb = pool.Alloc(200);
        skb.Reserve(64);
        Assert.Equal(64, skb.Headroom);
        skb.Put(100).Fill(0xAA);
        Assert.Equal(100, skb.Len);
        var hdr = skb.Push(20);
        hdr.Fill(0x45);
        Assert.Equal(120, skb.Len);
        Assert.Equal(44, skb.Headroom);
        Assert.Equal(0x45, skb.Data[0]);
        Assert.True(skb.Pull(20));
        Assert.Equal(0xAA, skb.Data[0]);
        Assert.False(skb.Pull(1000));
        Assert.Throws<InvalidOperationException>(() => skb.Push(1000));
        skb.Free();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Destructor_runs_exactly_once_and_double_free_is_caught()
    {
        var pool = new SkBuffPool();
        var d = new CountingDestructor();
        var skb = pool.Alloc(10);
        skb.Destructor = d;
        skb.Consume();
        Assert.Equal(1, d.Calls);
        Assert.Throws<InvalidOperationException>(() => skb.Consume());
        Assert.Equal(1, d.Calls);
    }

    [Fact]
    public void Clone_shares_data_until_the_last_holder_frees_it()
    {
        var pool = new SkBuffPool(trackAllocations: true);
        var skb = pool.Alloc(100);
        skb.Put(10).Fill(7);
        var clone = pool.Clone(skb);
        Assert.True(skb.IsCloned);
        Assert.Same(skb.Head, clone.Head);
        Assert.Equal(skb.Len, clone.Len);
        Assert.Null(clone.Destructor);
        skb.Data[0] = 9;
        Assert.Equal(9, clone.Data[0]); // shared bytes
        skb.Consume();
        Assert.Equal(1, pool.OutstandingBuffers);
        Assert.False(clone.IsCloned);
        clone.Consume();
        Assert.Equal(0, pool.OutstandingBuffers);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Page_frags_and_frag_list_count_in_len_truesize_and_copy()
    {
        var pool = new SkBuffPool(trackAllocations: true);
        var head = pool.Alloc(64);
        head.Put(4).Fill(1);
        var page = pool.RentPage();
        page.Data.AsSpan(0, 6).Fill(2);
        head.AddFrag(page, 0, 6, truesize: 6);
        var child = pool.Alloc(64);
        child.Put(5).Fill(3);
        int before = head.Truesize;
        head.AppendToFragList(child);
        Assert.Equal(15, head.Len);
        Assert.Equal(11, head.DataLen);
        Assert.Equal(4, head.HeadLen);
        Assert.Equal(before + child.Truesize, head.Truesize);
        var all = new byte[15];
        Assert.True(head.CopyBits(0, all));
        Assert.Equal(new byte[] { 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3 }, all);
        var mid = new byte[4];
        Assert.True(head.CopyBits(8, mid));
        Assert.Equal(new byte[] { 2, 2, 3, 3 }, mid);
        head.Free();
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(0, pool.OutstandingPages);
    }

    [Fact]
    public void Tracking_pool_names_where_a_leaked_skb_was_rented()
    {
        var pool = new SkBuffPool(trackAllocations: true);
        var leaked = RentAndForget(pool);
        Assert.Equal(1, pool.Outstanding);
        Assert.Contains(nameof(RentAndForget), pool.DescribeOutstanding());
        leaked.Free();
        Assert.Equal(0, pool.Outstanding);
    }

    private static SkBuff RentAndForget(SkBuffPool pool) => pool.Alloc(32);

    [Fact]
    public void Queue_counts_packets_bytes_truesize_and_keeps_order()
    {
        var pool = new SkBuffPool();
        var q = new SkBuffQueue();
        var a = pool.Alloc(10); a.Put(10);
        var b = pool.Alloc(20); b.Put(20);
        var c = pool.Alloc(30); c.Put(30);
        q.Enqueue(b);
        q.EnqueueHead(a);
        q.InsertAfter(b, c);
        Assert.Equal(3, q.Count);
        Assert.Equal(60, q.Bytes);
        Assert.Equal(a.Truesize + b.Truesize + c.Truesize, q.TruesizeSum);
        Assert.Same(a, q.Dequeue());
        Assert.Same(c, q.DequeueTail());
        Assert.Throws<InvalidOperationException>(() => b.Free()); // still queued
        q.Purge();
        Assert.Equal(2, pool.Outstanding); // a and c were dequeued: still ours to free
        a.Free(); c.Free();
        Assert.Equal(0, pool.Outstanding);
    }
}
