/*
 * Load generator for `skein tail --listen`: several keep-alive HTTP/1.1 connections on loopback,
 * each posting batches of events for a bounded time, as fast as the answers come back.
 *
 * Bodies are built once per connection and only patched per request (batch number in the trace
 * ids, times), so the generator spends a few instructions per event and is not what a run measures.
 *
 *   bench-collector HOST PORT MODE CONNECTIONS SECONDS [BATCH]
 *     MODE: ndjson  -> POST /ingest, Skein's convention, 5 events per trace
 *           otlp    -> POST /v1/traces, ExportTraceServiceRequest protobuf, 5 spans per trace
 *           ndjson-dump, otlp-dump -> print one body and exit (to check that it decodes)
 *
 * Prints one JSON object: requests by status, events sent and acknowledged (200), its own CPU time.
 * A 429 or 503 is honoured: the connection waits min(Retry-After, 0.1 s) before its next batch.
 * Only ever connects to the address it is given (use 127.0.0.1); stops by itself after SECONDS.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *host;
static int port, seconds, batch = 500, otlp;
static double deadline;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int64_t wall_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *s, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void varint(buf *b, uint64_t v) {
    unsigned char c[10];
    int n = 0;
    do {
        c[n] = v & 0x7f;
        v >>= 7;
        if (v) c[n] |= 0x80;
        n++;
    } while (v);
    put(b, c, n);
}
static void tag(buf *b, int field, int wire) { varint(b, (uint64_t)(field << 3 | wire)); }
static void ld(buf *b, int field, const buf *m) { tag(b, field, 2); varint(b, m->n); put(b, m->p, m->n); }
static void ldraw(buf *b, int field, const void *p, size_t n) { tag(b, field, 2); varint(b, n); put(b, p, n); }

static const char hexd[] = "0123456789abcdef";
static void hex8(unsigned char *at, uint32_t v) {
    for (int i = 7; i >= 0; i--) { at[i] = hexd[v & 15]; v >>= 4; }
}
static void dec13(unsigned char *at, int64_t v) {
    for (int i = 12; i >= 0; i--) { at[i] = '0' + v % 10; v /= 10; }
}
static void le64(unsigned char *at, uint64_t v) {
    for (int i = 0; i < 8; i++) { at[i] = v & 0xff; v >>= 8; }
}

/* Where each record's varying bytes are, in the built body. */
typedef struct {
    size_t ts, trace;
} slot;

typedef struct {
    int id;
    buf body;
    slot *slots;
    size_t head_len;      /* request line + headers, then the body */
    long requests, by_status[6], other_status, errors, sent, acked;
} conn;

/* NDJSON: the convention's fields, like an instrumented app's request log. */
static void build_ndjson(conn *c) {
    char line[512];
    for (int i = 0; i < batch; i++) {
        const char *kind = i % 5 == 0 ? "request.start" : (i % 5 == 4 ? "request.end" : "log");
        int n = snprintf(line, sizeof line,
            "{\"ts\":0000000000000,\"service\":\"bench-%d\",\"instance\":\"w%d\",\"deploy\":\"server\","
            "\"trace_id\":\"%08x00000000%016x\",\"event\":\"%s\",\"route\":\"GET /b\",\"status\":200,"
            "\"duration_ms\":3.5,\"level\":\"info\",\"msg\":\"m%d\"}\n",
            c->id % 3, c->id, c->id, i / 5, kind, i);
        c->slots[i].ts = c->body.n + 6;
        c->slots[i].trace = c->body.n + (size_t)(strstr(line, "\"trace_id\":\"") - line) + 12 + 8;
        put(&c->body, line, n);
    }
}

static void keyvalue_string(buf *out, int field, const char *k, const char *v) {
    buf any = {0}, kv = {0};
    ldraw(&any, 1, v, strlen(v));
    ldraw(&kv, 1, k, strlen(k));
    ld(&kv, 2, &any);
    ld(out, field, &kv);
    free(any.p); free(kv.p);
}
static void keyvalue_int(buf *out, int field, const char *k, int64_t v) {
    buf any = {0}, kv = {0};
    tag(&any, 3, 0); varint(&any, (uint64_t)v);
    ldraw(&kv, 1, k, strlen(k));
    ld(&kv, 2, &any);
    ld(out, field, &kv);
    free(any.p); free(kv.p);
}

/* ExportTraceServiceRequest { ResourceSpans { Resource, ScopeSpans { Scope, Span × batch } } }. */
static void build_otlp(conn *c) {
    buf resource = {0}, scope = {0}, scopespans = {0}, rs = {0}, req = {0};
    char name[32];
    snprintf(name, sizeof name, "otel-%d", c->id % 3);
    keyvalue_string(&resource, 1, "service.name", name);
    keyvalue_string(&resource, 1, "telemetry.sdk.language", "c");
    ldraw(&scope, 1, "bench", 5);
    ld(&scopespans, 1, &scope);
    size_t *trace_at = calloc(batch, sizeof *trace_at), *ts_at = calloc(batch, sizeof *ts_at);
    for (int i = 0; i < batch; i++) {
        buf span = {0};
        unsigned char id[16] = {0}, sid[8] = {0}, pid[8] = {0};
        uint32_t cid = 0x80000000u | (uint32_t)c->id;
        id[0] = cid >> 24; id[1] = cid >> 16; id[2] = cid >> 8; id[3] = cid;
        uint64_t t = (uint64_t)(i / 5);
        for (int k = 0; k < 8; k++) id[15 - k] = (t >> (8 * k)) & 0xff;
        uint64_t s = (uint64_t)i + 1, p = (uint64_t)(i - i % 5) + 1;
        for (int k = 0; k < 8; k++) { sid[7 - k] = (s >> (8 * k)) & 0xff; pid[7 - k] = (p >> (8 * k)) & 0xff; }
        tag(&span, 1, 2); varint(&span, 16);
        size_t trace_off = span.n + 4;          /* bytes 4..7: the batch number */
        put(&span, id, 16);
        ldraw(&span, 2, sid, 8);
        if (i % 5) ldraw(&span, 4, pid, 8);
        ldraw(&span, 5, "GET /o", 6);
        tag(&span, 6, 0); varint(&span, i % 5 ? 3 : 2);
        tag(&span, 7, 1);
        size_t ts_off = span.n;                 /* start, then end 9 bytes later */
        unsigned char zero[8] = {0};
        put(&span, zero, 8);
        tag(&span, 8, 1); put(&span, zero, 8);
        keyvalue_string(&span, 9, "http.route", "/o");
        keyvalue_int(&span, 9, "http.response.status_code", 200);
        /* The span's own header is a tag and a varint length before these offsets. */
        tag(&scopespans, 2, 2); varint(&scopespans, span.n);
        trace_at[i] = scopespans.n + trace_off;
        ts_at[i] = scopespans.n + ts_off;
        put(&scopespans, span.p, span.n);
        free(span.p);
    }
    ld(&rs, 1, &resource);
    size_t before = rs.n;
    tag(&rs, 2, 2); varint(&rs, scopespans.n);
    size_t inner = rs.n;
    put(&rs, scopespans.p, scopespans.n);
    (void)before;
    tag(&req, 1, 2); varint(&req, rs.n);
    size_t outer = req.n;
    put(&req, rs.p, rs.n);
    for (int i = 0; i < batch; i++) {
        c->slots[i].trace = c->body.n + outer + inner + trace_at[i];
        c->slots[i].ts = c->body.n + outer + inner + ts_at[i];
    }
    put(&c->body, req.p, req.n);
    free(resource.p); free(scope.p); free(scopespans.p); free(rs.p); free(req.p); free(trace_at); free(ts_at);
}

static void build(conn *c) {
    c->slots = calloc(batch, sizeof *c->slots);
    buf body = {0};
    conn tmp = *c;
    tmp.body = body;
    if (otlp) build_otlp(&tmp); else build_ndjson(&tmp);
    char head[256];
    int hn = snprintf(head, sizeof head,
        "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
        otlp ? "/v1/traces" : "/ingest", host, port, otlp ? "application/x-protobuf" : "application/x-ndjson", tmp.body.n);
    c->body.n = 0;
    put(&c->body, head, hn);
    put(&c->body, tmp.body.p, tmp.body.n);
    for (int i = 0; i < batch; i++) { tmp.slots[i].ts += hn; tmp.slots[i].trace += hn; }
    c->slots = tmp.slots;
    c->head_len = hn;
    free(tmp.body.p);
}

static void patch(conn *c, uint32_t n) {
    int64_t ms = wall_ms();
    for (int i = 0; i < batch; i++) {
        if (otlp) {
            unsigned char *t = c->body.p + c->slots[i].trace;
            t[0] = n >> 24; t[1] = n >> 16; t[2] = n >> 8; t[3] = n;
            uint64_t start = (uint64_t)(ms + i / 5) * 1000000ull + (uint64_t)(i % 5) * 1000;
            le64(c->body.p + c->slots[i].ts, start);
            le64(c->body.p + c->slots[i].ts + 9, start + 2000000ull);
        } else {
            hex8(c->body.p + c->slots[i].trace, n);
            dec13(c->body.p + c->slots[i].ts, ms + i / 5);
        }
    }
}

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
    return fd;
}

/* Reads one answer; returns its status (0 on error) and the Retry-After seconds. */
static int answer(int fd, char *rb, size_t cap, size_t *have, int *retry_after) {
    for (;;) {
        rb[*have] = 0;
        char *end = strstr(rb, "\r\n\r\n");
        if (end) {
            size_t hl = (size_t)(end - rb) + 4;
            int status = 0;
            sscanf(rb, "HTTP/1.1 %d", &status);
            long cl = 0;
            char *p = strcasestr(rb, "\r\ncontent-length:");
            if (p && p < end) cl = strtol(p + 17, NULL, 10);
            char *r = strcasestr(rb, "\r\nretry-after:");
            *retry_after = (r && r < end) ? atoi(r + 14) : 0;
            while (*have < hl + (size_t)cl) {
                ssize_t k = read(fd, rb + *have, cap - 1 - *have);
                if (k <= 0) return 0;
                *have += k;
            }
            memmove(rb, rb + hl + cl, *have - hl - cl);
            *have -= hl + cl;
            return status;
        }
        if (*have >= cap - 1) return 0;
        ssize_t k = read(fd, rb + *have, cap - 1 - *have);
        if (k <= 0) return 0;
        *have += k;
    }
}

static void *run(void *arg) {
    conn *c = arg;
    char rb[65536];
    size_t have = 0;
    int fd = dial();
    uint32_t n = 0;
    while (now_s() < deadline) {
        if (fd < 0) { c->errors++; usleep(100000); fd = dial(); have = 0; continue; }
        patch(c, ++n);
        size_t off = 0;
        while (off < c->body.n) {
            ssize_t k = write(fd, c->body.p + off, c->body.n - off);
            if (k <= 0) break;
            off += k;
        }
        int retry = 0;
        int status = off == c->body.n ? answer(fd, rb, sizeof rb, &have, &retry) : 0;
        if (status == 0) { c->errors++; close(fd); fd = dial(); have = 0; continue; }
        c->requests++;
        c->sent += batch;
        switch (status) {
        case 200: c->by_status[0]++; c->acked += batch; break;
        case 400: c->by_status[1]++; break;
        case 413: c->by_status[2]++; break;
        case 429: c->by_status[3]++; break;
        case 503: c->by_status[4]++; break;
        default: c->other_status++; break;
        }
        if (status == 429 || status == 503) usleep(retry > 0 ? 100000 : 10000);
    }
    if (fd >= 0) close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT ndjson|otlp CONNECTIONS SECONDS [BATCH]\n", argv[0]);
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    otlp = strncmp(argv[3], "otlp", 4) == 0;
    int dump = strstr(argv[3], "-dump") != NULL;
    int conns = atoi(argv[4]);
    seconds = atoi(argv[5]);
    if (argc > 6) batch = atoi(argv[6]);
    if (conns < 1 || conns > 256 || seconds < 1 || seconds > 120 || batch < 5 || batch > 100000) {
        fprintf(stderr, "bench-collector: 1..256 connections, 1..120 s, batch 5..100000\n");
        return 2;
    }
    conn *cs = calloc(conns, sizeof *cs);
    for (int i = 0; i < conns; i++) { cs[i].id = i; build(&cs[i]); }
    if (dump) {                 /* one patched body on stdout, to check it decodes */
        patch(&cs[0], 1);
        fwrite(cs[0].body.p + cs[0].head_len, 1, cs[0].body.n - cs[0].head_len, stdout);
        return 0;
    }
    pthread_t *ts = calloc(conns, sizeof *ts);
    double t0 = now_s();
    deadline = t0 + seconds;
    for (int i = 0; i < conns; i++) pthread_create(&ts[i], NULL, run, &cs[i]);
    long req = 0, st[6] = {0}, other = 0, err = 0, sent = 0, acked = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(ts[i], NULL);
        req += cs[i].requests; other += cs[i].other_status; err += cs[i].errors;
        sent += cs[i].sent; acked += cs[i].acked;
        for (int k = 0; k < 6; k++) st[k] += cs[i].by_status[k];
    }
    double elapsed = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("{\"mode\":\"%s\",\"connections\":%d,\"batch\":%d,\"seconds\":%.2f,\"body_bytes\":%zu,\"requests\":%ld,"
           "\"status\":{\"200\":%ld,\"400\":%ld,\"413\":%ld,\"429\":%ld,\"503\":%ld,\"other\":%ld},\"errors\":%ld,"
           "\"events_sent\":%ld,\"events_acked\":%ld,\"acked_per_s\":%.0f,\"generator_cpu_s\":%.2f}\n",
           otlp ? "otlp" : "ndjson", conns, batch, elapsed, cs[0].body.n - cs[0].head_len, req,
           st[0], st[1], st[2], st[3], st[4], other, err, sent, acked, acked / elapsed, cpu);
    return 0;
}
