#ifndef SKEIN_SCAN_H
#define SKEIN_SCAN_H

/// Byte scanning the decoders' JSON scanner calls per string: inline, so Swift code that calls it
/// gets the instructions themselves, not a call.

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// A bit for each of the 16 bytes at `p` that ends or interrupts a JSON string's plain run: `"`,
/// `\`, a control byte (below 0x20), or a byte of a multi-byte UTF-8 sequence (0x80 and above).
/// Bit i is byte i. All 16 bytes must be readable.
static inline uint32_t skein_json_string_stops16(const uint8_t *p) {
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    /* Signed: 0x80 and above are negative, so one comparison finds them and the control bytes. */
    __m128i low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
    return (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), low));
#else
    uint32_t m = 0;
    for (int i = 0; i < 16; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) m |= 1u << i;
    }
    return m;
#endif
}

/// A bit for each of the 16 positions at `p` whose two bytes, each with 0x20 set (lower case for
/// letters), are the first two of a database error phrase (`DBErrorClassifier`): re, to, ti, te,
/// p2, po, co, se, qu, 53. Bit i is position i. The 17 bytes from `p` must be readable. A superset
/// of the positions the classifier's own switch takes (it lowers letters only), never fewer.
static inline uint32_t skein_db_phrase_pairs16(const uint8_t *p) {
#if defined(__SSE2__)
    const __m128i set = _mm_set1_epi8(0x20);
    __m128i a = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)p), set);
    __m128i b = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(p + 1)), set);
#define SKEIN_EQ(v, ch) _mm_cmpeq_epi8((v), _mm_set1_epi8(ch))
    __m128i be = SKEIN_EQ(b, 'e'), bo = SKEIN_EQ(b, 'o');
    __m128i m = _mm_and_si128(SKEIN_EQ(a, 'r'), be);
    m = _mm_or_si128(m, _mm_and_si128(SKEIN_EQ(a, 't'), _mm_or_si128(_mm_or_si128(bo, be), SKEIN_EQ(b, 'i'))));
    m = _mm_or_si128(m, _mm_and_si128(SKEIN_EQ(a, 'p'), _mm_or_si128(bo, SKEIN_EQ(b, '2'))));
    m = _mm_or_si128(m, _mm_and_si128(SKEIN_EQ(a, 'c'), bo));
    m = _mm_or_si128(m, _mm_and_si128(SKEIN_EQ(a, 's'), be));
    m = _mm_or_si128(m, _mm_and_si128(SKEIN_EQ(a, 'q'), SKEIN_EQ(b, 'u')));
    m = _mm_or_si128(m, _mm_and_si128(SKEIN_EQ(a, '5'), SKEIN_EQ(b, '3')));
#undef SKEIN_EQ
    return (uint32_t)_mm_movemask_epi8(m);
#else
    (void)p;
    return 0xffffu;
#endif
}

/// Asks for the cache line at `p` ahead of a read (a hint: any address, none faults).
static inline void skein_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

#endif
