#ifndef SKEIN_CNCURSES_SHIM_H
#define SKEIN_CNCURSES_SHIM_H
// The wide-character API is hidden unless this is defined before the include.
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <string.h>
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

// Key codes are octal macros; enum constants import cleanly into Swift.
enum {
    SKEIN_KEY_CODE_YES = KEY_CODE_YES,
    SKEIN_KEY_UP = KEY_UP, SKEIN_KEY_DOWN = KEY_DOWN, SKEIN_KEY_LEFT = KEY_LEFT, SKEIN_KEY_RIGHT = KEY_RIGHT,
    SKEIN_KEY_NPAGE = KEY_NPAGE, SKEIN_KEY_PPAGE = KEY_PPAGE, SKEIN_KEY_HOME = KEY_HOME, SKEIN_KEY_END = KEY_END,
    SKEIN_KEY_BTAB = KEY_BTAB, SKEIN_KEY_ENTER = KEY_ENTER, SKEIN_KEY_BACKSPACE = KEY_BACKSPACE,
    SKEIN_KEY_RESIZE = KEY_RESIZE, SKEIN_KEY_DC = KEY_DC
};

// wattr_set may be a macro; one function call for Swift.
static inline int skein_set_attr(WINDOW *w, attr_t attrs, short pair) { return wattr_set(w, attrs, pair, NULL); }

// True when the current locale's character set is UTF-8 (after setlocale(LC_ALL, "")).
static inline int skein_locale_is_utf8(void) {
    const char *cs = nl_langinfo(CODESET);
    return cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0 || strcmp(cs, "UTF8") == 0);
}
#endif
