/* A kernel-side UDP sender for scripts/tap-throughput.sh: sends SIZE-byte datagrams to ADDR:PORT as fast
 * as it can for SECONDS and prints how many. Ours, written for this measurement. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: udpflood ADDR PORT SIZE SECONDS\n"); return 2; }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    size_t size = (size_t)atoi(argv[3]);
    double seconds = atof(argv[4]);
    char *buf = calloc(1, size + 1);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long sent = 0;
    for (;;) {
        for (int i = 0; i < 256; i++) if (sendto(fd, buf, size, 0, (struct sockaddr *)&to, sizeof to) >= 0) sent++;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds) break;
    }
    printf("%ld\n", sent);
    return 0;
}
