/*
 * The phones of bench_rtp_relay.py, in C so that the load generator is
 * not the bottleneck: every leg is a UDP socket on 127.0.0.1 sending a
 * 160-byte G.711 RTP packet every 20 ms to its PBX port and timing every
 * packet that comes back through the relay.
 *
 *   rtp_phones SECONDS START_DELAY_MS PORT...
 *
 * Prints one JSON line: packets sent and received, the CPU time used, and
 * a histogram of latencies (10 us bins) of the packets received.
 * Bounded: loopback only, stops SECONDS (+0.5 s drain) after the start.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BINS 100000          /* 10 us bins: up to 1 s */
#define PACKET 172           /* 12 header + 160 payload */

static int64_t nowNs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: rtp_phones SECONDS START_DELAY_MS PORT...\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    int64_t start = nowNs() + (int64_t)atoi(argv[2]) * 1000000LL;
    int count = argc - 3;
    int *fds = calloc(count, sizeof(int));
    struct sockaddr_in *targets = calloc(count, sizeof(struct sockaddr_in));
    int64_t *nextSend = calloc(count, sizeof(int64_t));
    uint32_t *seqs = calloc(count, sizeof(uint32_t));
    static uint64_t hist[BINS + 1];
    int ep = epoll_create1(0);
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in local = {.sin_family = AF_INET};
        local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
            perror("socket");
            return 1;
        }
        int size = 1 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        fds[i] = fd;
        targets[i].sin_family = AF_INET;
        targets[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        targets[i].sin_port = htons(atoi(argv[3 + i]));
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        nextSend[i] = start + (int64_t)(20000000LL * i / count);
        seqs[i] = 1;
    }
    unsigned char packet[PACKET];
    memset(packet, 0xff, sizeof packet);
    /* Prime every leg: symmetric RTP learns the phone's address. */
    for (int i = 0; i < count; i++) {
        packet[0] = 0x80; packet[1] = 0;
        memset(packet + 2, 0, 10);
        memset(packet + 12, 0, 12);
        sendto(fds[i], packet, PACKET, 0, (struct sockaddr *)&targets[i], sizeof targets[i]);
    }
    int64_t end = start + (int64_t)(seconds * 1e9);
    int64_t drainEnd = end + 500000000LL;
    uint64_t sent = 0, received = 0, late = 0;
    struct epoll_event events[256];
    unsigned char buf[2048];
    for (;;) {
        int64_t now = nowNs();
        if (now >= drainEnd)
            break;
        int64_t upcoming = drainEnd;
        for (int i = 0; i < count; i++) {
            while (nextSend[i] <= now && nextSend[i] < end) {
                uint32_t seq = seqs[i]++;
                uint32_t ts = 160u * seq;
                uint32_t ssrc = htonl(1000 + i);
                uint16_t nseq = htons(seq & 0xffff);
                uint32_t nts = htonl(ts);
                int64_t stamp = nowNs();
                packet[0] = 0x80; packet[1] = 0;
                memcpy(packet + 2, &nseq, 2);
                memcpy(packet + 4, &nts, 4);
                memcpy(packet + 8, &ssrc, 4);
                memcpy(packet + 12, &stamp, 8);
                if (sendto(fds[i], packet, PACKET, 0, (struct sockaddr *)&targets[i],
                           sizeof targets[i]) == PACKET)
                    sent++;
                nextSend[i] += 20000000LL;
            }
            if (nextSend[i] < end && nextSend[i] < upcoming)
                upcoming = nextSend[i];
        }
        int64_t waitNs = upcoming - nowNs();
        /* Sleep to the next send (rounded up to whole ms: no busy loop). */
        int timeout = waitNs <= 0 ? 0 : (int)((waitNs + 999999LL) / 1000000LL);
        int n = epoll_wait(ep, events, 256, timeout);
        for (int k = 0; k < n; k++) {
            int fd = fds[events[k].data.u32];
            for (;;) {
                ssize_t got = recv(fd, buf, sizeof buf, 0);
                if (got < 0)
                    break;
                /* Only relayed audio (payload type 0) with our stamp. */
                if (got < 24 || (buf[1] & 0x7f) != 0)
                    continue;
                int64_t stamp;
                memcpy(&stamp, buf + 12, 8);
                if (stamp < start)
                    continue;
                int64_t bin = (nowNs() - stamp) / 10000;
                if (bin > BINS) {
                    bin = BINS;
                    late++;
                }
                hist[bin]++;
                received++;
            }
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
                 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("{\"sent\": %llu, \"received\": %llu, \"cpu\": %.4f, \"hist\": [",
           (unsigned long long)sent, (unsigned long long)received, cpu);
    int first = 1;
    for (int b = 0; b <= BINS; b++) {
        if (hist[b]) {
            printf("%s[%d, %llu]", first ? "" : ", ", b, (unsigned long long)hist[b]);
            first = 0;
        }
    }
    printf("]}\n");
    return 0;
}
