namespace Xmit.Sockets.Api;

/// <summary>
/// An epoll instance: items watch files; a file's wake-ups (data ready, write space, error) put its item on
/// the ready list if the wake-up's events are among those it wants. epoll_wait polls each ready item:
/// level-triggered items go back on the list while still ready, edge-triggered ones only on the next
/// wake-up, one-shot ones are disabled until EPOLL_CTL_MOD.
/// </summary>
/// <remarks>Linux: fs/eventpoll.c ep_insert(), ep_modify(), ep_poll_callback(), ep_send_events()</remarks>
public sealed class Epoll
{
    private const uint PrivateBits = Ev.EPOLLONESHOT | Ev.EPOLLET;
    private readonly Dictionary<int, Item> _items = new();
    /// <summary>The items of each watched file (a file may sit here under several fds): a wake-up finds its own at once.</summary>
    private readonly Dictionary<SocketFile, List<Item>> _byFile = new(ReferenceEqualityComparer.Instance);
    private readonly LinkedList<Item> _ready = new();
    /// <summary>The file last woken and its items: a busy socket wakes its epoll over and over (forgotten when a file's items go).</summary>
    private SocketFile? _lastWoken;
    private List<Item>? _lastWokenItems;
    private readonly List<Item> _requeue = [];

    internal sealed class Item
    {
        public Item(int fd, SocketFile file, uint events, ulong data)
        {
            Fd = fd;
            File = file;
            Events = events;
            Data = data;
            ReadyNode = new LinkedListNode<Item>(this);
        }

        public int Fd { get; }
        public SocketFile File { get; }
        public uint Events { get; set; }
        public ulong Data { get; set; }

        /// <summary>The item's place on the ready list, made once: joining and leaving the list allocates nothing.</summary>
        public LinkedListNode<Item> ReadyNode { get; }

        public bool IsReady => ReadyNode.List is not null;
    }

    public int Count => _items.Count;
    public bool HasReady => _ready.Count > 0;

    internal int Add(int fd, SocketFile file, EpollEvent ev)
    {
        if (_items.ContainsKey(fd)) return -(int)Errno.EEXIST;
        var item = new Item(fd, file, ev.Events | Ev.EPOLLERR | Ev.EPOLLHUP, ev.Data);
        _items.Add(fd, item);
        if (!_byFile.TryGetValue(file, out var mine)) _byFile.Add(file, mine = []);
        mine.Add(item);
        file.Watchers.Add(this);
        if ((file.PollMask() & item.Events) != 0) MarkReady(item);
        return 0;
    }

    internal int Modify(int fd, EpollEvent ev)
    {
        if (!_items.TryGetValue(fd, out var item)) return -(int)Errno.ENOENT;
        item.Events = ev.Events | Ev.EPOLLERR | Ev.EPOLLHUP;
        item.Data = ev.Data;
        if ((item.File.PollMask() & item.Events) != 0) MarkReady(item);
        return 0;
    }

    internal int Delete(int fd)
    {
        if (!_items.Remove(fd, out var item)) return -(int)Errno.ENOENT;
        Unready(item);
        ForgetItem(item);
        item.File.Watchers.Remove(this);
        return 0;
    }

    /// <summary>A watched file closed: its items go (eventpoll_release).</summary>
    internal void Forget(SocketFile file)
    {
        _lastWoken = null;
        if (!_byFile.Remove(file, out var mine)) return;
        foreach (var item in mine)
        {
            _items.Remove(item.Fd);
            Unready(item);
        }
    }

    private void ForgetItem(Item item)
    {
        if (!_byFile.TryGetValue(item.File, out var mine)) return;
        mine.Remove(item);
        if (mine.Count == 0)
        {
            _byFile.Remove(item.File);
            _lastWoken = null;
        }
    }

    /// <summary>ep_poll_callback(): a wake-up with <paramref name="key"/> events from <paramref name="file"/>.</summary>
    internal void Wake(SocketFile file, uint key)
    {
        List<Item>? mine;
        if (ReferenceEquals(file, _lastWoken)) mine = _lastWokenItems!;
        else
        {
            if (!_byFile.TryGetValue(file, out mine)) return;
            _lastWoken = file;
            _lastWokenItems = mine;
        }
        foreach (var item in mine)
        {
            if ((item.Events & ~PrivateBits) == 0) continue; // one-shot, already fired
            if (key != 0 && (key & item.Events) == 0) continue;
            MarkReady(item);
        }
    }

    /// <summary>ep_send_events(): fill <paramref name="events"/> from the ready list.</summary>
    internal int Collect(Span<EpollEvent> events)
    {
        int n = 0;
        var requeue = _requeue;
        requeue.Clear();
        while (n < events.Length && _ready.First is { } node)
        {
            var item = node.Value;
            Unready(item);
            uint revents = item.File.PollMask() & item.Events;
            if (revents == 0) continue;
            events[n++] = new EpollEvent(revents, item.Data);
            if ((item.Events & Ev.EPOLLONESHOT) != 0) item.Events &= PrivateBits;
            else if ((item.Events & Ev.EPOLLET) == 0) requeue.Add(item); // level-triggered: stays ready
        }
        foreach (var item in requeue) MarkReady(item);
        requeue.Clear();
        return n;
    }

    /// <summary>Raised when an item joins the ready list (what wakes a waiter in epoll_wait).</summary>
    public event Action<Epoll>? Readied;

    private void MarkReady(Item item)
    {
        if (item.IsReady) return;
        _ready.AddLast(item.ReadyNode);
        Readied?.Invoke(this);
    }

    private void Unready(Item item)
    {
        if (item.IsReady) _ready.Remove(item.ReadyNode);
    }
}
