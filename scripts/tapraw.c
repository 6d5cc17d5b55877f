/* The raw limit of a TAP file descriptor, as a best-effort C program gets it, for scripts/tap-throughput.sh:
 * pinned to one core (sched_setaffinity, so the loop and the kernel work it drives never migrate), no stack,
 * no allocation, no clock read per frame. Ours, written for this measurement.
 *
 *   tapraw write DEV CPU SIZE SECONDS DSTMAC   one prebuilt UDP frame 198.18.0.2:40000 -> 198.18.0.1:9 in a write() loop
 *   tapraw read  DEV CPU SECONDS                frames read and thrown away (blocking reads: no poll between frames)
 *
 * DEV is an existing TAP device (ip tuntap add ... mode tap vnet_hdr), attached with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR
 * like Xmit's. A TAP fd takes one frame per write() and gives one per read(): the kernel has no batched call for it
 * from user space (writev is still one frame; io_uring would save only the syscall entry, a few percent of the
 * kernel's per-frame receive work that the profile shows dominates), so a tight loop is the best a writer can do.
 * Prints "N frames in S s = R frames/s on cpu C". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_alarm(int sig) { (void)sig; stop = 1; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum) {
    for (; n > 1; n -= 2, p += 2) sum += (uint32_t)p[0] << 8 | p[1];
    if (n) sum += (uint32_t)p[0] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

/* virtio_net_hdr (10 zero bytes: no offload), Ethernet, IPv4 (DF, TTL 64), UDP with its checksum. */
static size_t build(uint8_t *f, const uint8_t dst[6], size_t payload) {
    static const uint8_t src[6] = {0x02, 0x00, 0x5e, 0x12, 0x00, 0x02};
    static const uint8_t from[4] = {198, 18, 0, 2}, to[4] = {198, 18, 0, 1};
    memset(f, 0, 10 + 14 + 20 + 8 + payload);
    uint8_t *eth = f + 10, *ip = eth + 14, *udp = ip + 20;
    memcpy(eth, dst, 6); memcpy(eth + 6, src, 6); put16(eth + 12, 0x0800);
    ip[0] = 0x45; put16(ip + 2, 20 + 8 + payload); put16(ip + 6, 0x4000); ip[8] = 64; ip[9] = 17;
    memcpy(ip + 12, from, 4); memcpy(ip + 16, to, 4);
    put16(ip + 10, csum(ip, 20, 0));
    put16(udp, 40000); put16(udp + 2, 9); put16(udp + 4, 8 + payload);
    uint32_t pseudo = (198 << 8 | 18) * 2 + 2 + 1 + 17 + 8 + payload; /* addresses, protocol, UDP length */
    uint16_t c = csum(udp, 8 + payload, pseudo);
    put16(udp + 6, c ? c : 0xffff);
    return 10 + 14 + 20 + 8 + payload;
}

int main(int argc, char **argv) {
    int writing = argc == 7 && !strcmp(argv[1], "write"), reading = argc == 5 && !strcmp(argv[1], "read");
    if (!writing && !reading) {
        fprintf(stderr, "usage: tapraw write DEV CPU SIZE SECONDS DSTMAC | tapraw read DEV CPU SECONDS\n");
        return 2;
    }
    int cpu = atoi(argv[3]);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) { perror("sched_setaffinity"); return 1; }
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) { perror("/dev/net/tun"); return 1; }
    struct ifreq ifr = {0};
    strncpy(ifr.ifr_name, argv[2], IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
    int hdr = 10;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0) { perror("tun setup"); return 1; }
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: the alarm ends a blocking read */
    sigaction(SIGALRM, &sa, NULL);
    static uint8_t frame[10 + 65536];
    long frames = 0;
    double t0, t1;
    if (writing) {
        uint8_t dst[6];
        if (sscanf(argv[6], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dst[0], &dst[1], &dst[2], &dst[3], &dst[4], &dst[5]) != 6) {
            fprintf(stderr, "bad MAC %s\n", argv[6]);
            return 2;
        }
        size_t len = build(frame, dst, (size_t)atoi(argv[4]));
        alarm((unsigned)atoi(argv[5]));
        t0 = now();
        while (!stop)
            if (write(fd, frame, len) > 0) frames++;
        t1 = now();
    } else {
        /* Timed from the first frame to the last, as RawTapBench.Read: the wait for the sender does not count. */
        alarm((unsigned)atoi(argv[4]));
        t0 = t1 = 0;
        if (getenv("TAPRAW_SPIN")) fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK);
        while (!stop)
            if (read(fd, frame, sizeof frame) > 0) {
                t1 = now();
                if (frames++ == 0) t0 = t1;
            }
    }
    printf("%ld frames in %.3f s = %.0f frames/s on cpu %d (pinned; last ran on %d)\n",
           frames, t1 - t0, frames / (t1 - t0 > 0 ? t1 - t0 : 1e-9), cpu, sched_getcpu());
    return 0;
}
