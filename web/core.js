// core.js: loads wvoice-core.wasm, libwvoice's core compiled to
// WebAssembly, synchronously and without Emscripten's JavaScript, so that
// the same few lines work in a Worker, in an AudioWorkletGlobalScope (no
// fetch, atob, TextDecoder or setTimeout there) and in node.
//
//   import { loadCore, OUT } from "./core.js";
//   const core = loadCore(bytes);   // ArrayBuffer, typed array or
//                                   // WebAssembly.Module; throws on failure
//   const x = core.exports;         // the wvw_* functions: wasm/web_api.h
//
// The object it returns:
//   exports            the module's exports (wvw_*, memory)
//   memory             its WebAssembly.Memory
//   u8 i16 i32 u32 f32 f64
//                      views of all of memory, made again whenever memory
//                      has grown (read them after each call, don't keep them)
//   alloc(n) free(p)   wvw_alloc / wvw_free: n bytes in linear memory
//   u8Array(p, n) i16Array(p, n) f32Array(p, n) f64Array(p, n)
//                      views of n elements at p (valid until memory grows:
//                      make them again after calls that may allocate)
//   string(p, len)     the UTF-8 at p as a string: len bytes, or up to the
//                      NUL when len is omitted or negative; "" for p = 0
//   newString(s)       a NUL-terminated UTF-8 copy of s in memory from
//                      alloc(): returns its pointer; free it with free()
//   withString(s, fn)  fn(pointer, byteLength) on a temporary copy of s,
//                      freed after; returns what fn returns
//   record(p)          the call's output record at p (wvw_call_next_output)
//                      as { kind, a, b, data, len, text } (numbers; data and
//                      text are pointers: string(text), u8Array(data, len))
//   error(code)        wvw_strerror(code): "bad DTMF digit"
//
// and the constants OUT (record kinds), STATUS and END_REASON (names by
// number). encodeUTF8(s) and decodeUTF8(bytes, start, end) are exported
// too; they are written out here because worklets have no TextEncoder.
//
// Imports the module needs, which this provides (loadCore throws naming any
// other, should a later build need one):
//   wasi_snapshot_preview1.clock_time_get   jansson's hash seed when
//       wvw_init() was not called: Date.now() in nanoseconds
//   env.emscripten_notify_memory_growth     memory grew: the views above
//       are made again on their next use
// After instantiating, it runs the module's _initialize (its constructors).

export const OUT = Object.freeze({
  NONE: 0,
  STATUS: 1,
  COMMUNICATION_ID: 2,
  ERROR: 3,
  UNKNOWN_EVENT: 4,
  EVENT: 5,
  PLAYOUT_AUDIO: 6,
  PLAYOUT_MARK: 7,
  PLAYOUT_CLEAR: 8,
  PLAYOUT_FLUSH: 9,
});
export const STATUS = Object.freeze(["idle", "connecting", "connected",
                                     "disconnected"]);
export const END_REASON = Object.freeze(["none", "hangup", "remote-stop",
                                         "closed", "start-timeout", "error"]);

/* UTF-8 by hand: lone surrogates become U+FFFD, as TextEncoder does. */
export function encodeUTF8(s) {
  const out = new Uint8Array(utf8Length(s));
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) {
      out[j++] = c;
    } else if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[j++] = 0xe0 | (c >> 12);
      out[j++] = 0x80 | ((c >> 6) & 63);
      out[j++] = 0x80 | (c & 63);
    } else {
      out[j++] = 0xf0 | (c >> 18);
      out[j++] = 0x80 | ((c >> 12) & 63);
      out[j++] = 0x80 | ((c >> 6) & 63);
      out[j++] = 0x80 | (c & 63);
    }
  }
  return out;
}

function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
             s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/* The module's strings are the core's: valid UTF-8 (it checks what comes
   from the network). Anything else decodes to U+FFFD rather than throw. */
export function decodeUTF8(b, start = 0, end = b.length) {
  let s = "";
  let i = start;
  while (i < end) {
    const c = b[i++];
    let cp;
    if (c < 0x80) {
      cp = c;
    } else if (c >= 0xc2 && c < 0xe0 && i < end) {
      cp = ((c & 31) << 6) | (b[i++] & 63);
    } else if (c >= 0xe0 && c < 0xf0 && i + 1 < end) {
      cp = ((c & 15) << 12) | ((b[i] & 63) << 6) | (b[i + 1] & 63);
      i += 2;
    } else if (c >= 0xf0 && c < 0xf5 && i + 2 < end) {
      cp = ((c & 7) << 18) | ((b[i] & 63) << 12) | ((b[i + 1] & 63) << 6) |
           (b[i + 2] & 63);
      i += 3;
    } else {
      cp = 0xfffd;
    }
    if (cp < 0x10000) {
      s += String.fromCharCode(cp);
    } else {
      cp -= 0x10000;
      s += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 1023));
    }
  }
  return s;
}

export function loadCore(source) {
  const module = source instanceof WebAssembly.Module ? source
                                                      : new WebAssembly.Module(source);
  let memory = null;
  let buffer = null;
  let views = null;

  function fresh() {
    if (memory.buffer !== buffer) {
      buffer = memory.buffer;
      views = {
        u8: new Uint8Array(buffer), i16: new Int16Array(buffer),
        i32: new Int32Array(buffer), u32: new Uint32Array(buffer),
        f32: new Float32Array(buffer), f64: new Float64Array(buffer),
      };
    }
    return views;
  }

  const provided = {
    wasi_snapshot_preview1: {
      clock_time_get(id, precision, out) {
        new DataView(memory.buffer).setBigUint64(
            out, BigInt(Date.now()) * 1000000n, true);
        return 0;
      },
    },
    env: {
      emscripten_notify_memory_growth() {
        buffer = null;
      },
    },
  };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (!(provided[imp.module] && imp.name in provided[imp.module]))
      throw new Error(`wvoice-core.wasm imports ${imp.module}.${imp.name}, ` +
                      "which core.js does not provide");
  }
  const instance = new WebAssembly.Instance(module, provided);
  const x = instance.exports;
  memory = x.memory;
  if (x._initialize) x._initialize();

  /* bytes and a NUL, in memory from alloc() */
  function put(bytes) {
    const p = core.alloc(bytes.length + 1);
    const u8 = fresh().u8;
    u8.set(bytes, p);
    u8[p + bytes.length] = 0;
    return p;
  }

  const core = {
    exports: x,
    memory,
    get u8() { return fresh().u8; },
    get i16() { return fresh().i16; },
    get i32() { return fresh().i32; },
    get u32() { return fresh().u32; },
    get f32() { return fresh().f32; },
    get f64() { return fresh().f64; },
    alloc(n) {
      const p = x.wvw_alloc(n);
      if (!p) throw new Error("wvoice-core: out of memory");
      return p;
    },
    free(p) { x.wvw_free(p); },
    u8Array(p, n) { return new Uint8Array(memory.buffer, p, n); },
    i16Array(p, n) { return new Int16Array(memory.buffer, p, n); },
    f32Array(p, n) { return new Float32Array(memory.buffer, p, n); },
    f64Array(p, n) { return new Float64Array(memory.buffer, p, n); },
    string(p, len = -1) {
      if (!p) return "";
      const u8 = fresh().u8;
      let end = p + len;
      if (len < 0) {
        end = p;
        while (u8[end] !== 0) end++;
      }
      return decodeUTF8(u8, p, end);
    },
    newString(s) {
      return put(encodeUTF8(s));
    },
    withString(s, fn) {
      const bytes = encodeUTF8(s);
      const p = put(bytes);
      try {
        return fn(p, bytes.length);
      } finally {
        x.wvw_free(p);
      }
    },
    record(p) {
      const w = fresh().i32;
      const i = p >> 2;
      return { kind: w[i], a: w[i + 1], b: w[i + 2], data: w[i + 3] >>> 0,
               len: w[i + 4] >>> 0, text: w[i + 5] >>> 0 };
    },
    error(code) { return core.string(x.wvw_strerror(code)); },
  };
  return core;
}
