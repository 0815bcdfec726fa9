/*
 * WV_EXPORT marks the public API. The libraries are built with hidden
 * visibility, so only what carries it is exported: the wv_ names the
 * headers declare, never a wv__ one of the libraries' own.
 */
#ifndef WVOICE_EXPORT_H
#define WVOICE_EXPORT_H

#if defined(WV_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define WV_EXPORT __attribute__((visibility("default")))
#else
#define WV_EXPORT
#endif

#endif
