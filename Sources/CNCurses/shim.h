#ifndef SKEIN_CNCURSES_SHIM_H
#define SKEIN_CNCURSES_SHIM_H
// The wide-character API is hidden unless this is defined before the include.
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <ncursesw/curses.h>

// Swift 6 refuses shared mutable C globals and cannot import macros: read them through accessors.
static inline WINDOW *skein_stdscr(void) { return stdscr; }
static inline int skein_lines(void) { return LINES; }
static inline int skein_cols(void) { return COLS; }
static inline int skein_colors(void) { return COLORS; }
static inline int skein_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t skein_a_bold(void) { return A_BOLD; }
static inline attr_t skein_a_reverse(void) { return A_REVERSE; }
static inline attr_t skein_a_dim(void) { return A_DIM; }
static inline attr_t skein_a_underline(void) { return A_UNDERLINE; }
static inline attr_t skein_a_normal(void) { return A_NORMAL; }
static inline attr_t skein_color_pair(int n) { return COLOR_PAIR(n); }
static inline int skein_key_resize(void) { return KEY_RESIZE; }
static inline int skein_err(void) { return ERR; }
#endif
