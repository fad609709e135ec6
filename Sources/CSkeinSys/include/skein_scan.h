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

/// Asks for the cache line at `p` ahead of a read (a hint: any address, none faults).
static inline void skein_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

#endif
