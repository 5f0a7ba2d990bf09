/**
 * The globals a weight file may name (docs/contract.md §3) and what the pickle VM (pickle.ts) builds for them:
 * numpy's `_reconstruct`/`ndarray`/`dtype`/`scalar`, `_codecs.encode`, `collections.OrderedDict` and
 * `builtins.tuple`. Their "calls" and BUILD states are interpreted here into plain data (pyValues.ts); nothing is
 * ever executed.
 */
import { PPTSNError } from '../errors.js';
import { describe, parseDtype, printable, PyDict, PyDtype, PyGlobal, PyList, PyNdArray, PyTuple, scalarValue, shapeSize, type GlobalRole, type PyValue } from './pyValues.js';

/** Throws the VM's `model-invalid` error with the position of the current opcode. */
export type Fail = (message: string) => never;

/**
 * The only globals a weight file may name (docs/contract.md §3). Module paths of numpy 1 (`numpy.core`) and 2
 * (`numpy._core`).
 */
const ALLOWED_GLOBALS: Record<string, GlobalRole> = {
  'numpy.core.multiarray._reconstruct': 'reconstruct',
  'numpy._core.multiarray._reconstruct': 'reconstruct',
  'numpy.ndarray': 'ndarray',
  'numpy.dtype': 'dtype',
  'numpy.core.multiarray.scalar': 'scalar',
  'numpy._core.multiarray.scalar': 'scalar',
  '_codecs.encode': 'encode',
  'collections.OrderedDict': 'OrderedDict',
  // Paddle ≥ 2.1 pickles each Tensor as tuple((name, ndarray)) (docs/contract.md §7). Building a tuple runs nothing.
  // Protocol 2 from Python 3 names it __builtin__ (pickle's fix_imports).
  'builtins.tuple': 'tuple',
  '__builtin__.tuple': 'tuple',
};

/** The allow-listed global `module.name`; anything else is refused by name (`model-invalid`) as soon as it is named. */
export function resolveGlobal(module: string, name: string): PyGlobal {
  const full = `${module}.${name}`;
  const role = ALLOWED_GLOBALS[full];
  if (!role) {
    // Names come from the file: shown escaped and cut, so a hostile name cannot garble a log or a UI.
    const shown = printable(full.length > 120 ? `${full.slice(0, 120)}…` : full);
    throw new PPTSNError(
      'model-invalid',
      `refused pickle global ${shown}: a weight file may only reference numpy arrays, numpy dtypes/scalars, _codecs.encode, collections.OrderedDict and builtins.tuple; nothing in it is executed`,
    );
  }
  return new PyGlobal(module, name, role);
}

/**
 * What a REDUCE/NEWOBJ "call" of an allowed global builds, interpreted here as plain data (nothing is executed).
 * `encoded` caches `_codecs.encode` results by text, so a memoised string encoded many times is copied once.
 */
export function callGlobal(fn: PyValue, args: PyValue, how: string, fail: Fail, encoded: Map<string, Uint8Array>): PyValue {
  if (!(fn instanceof PyGlobal)) fail(`${how} of a ${describe(fn)}, not a callable`);
  if (!(args instanceof PyTuple)) fail(`${how} arguments are a ${describe(args)}, not a tuple`);
  const a = args.items;
  switch (fn.role) {
    case 'reconstruct': {
      // numpy's ndarray.__reduce__: _reconstruct(ndarray, (0,), b'b'); the real content arrives with BUILD.
      if (!(a[0] instanceof PyGlobal) || a[0].role !== 'ndarray') fail('_reconstruct of something other than numpy.ndarray');
      return new PyNdArray();
    }
    case 'dtype': {
      if (typeof a[0] !== 'string') fail('numpy.dtype needs a type string');
      return parseDtype(a[0]);
    }
    case 'encode': {
      // Protocol 2 stores bytes as _codecs.encode(latin1_text, 'latin1').
      const [text, enc] = a;
      if (typeof text !== 'string') fail('_codecs.encode of a non-string');
      const e = typeof enc === 'string' ? enc.toLowerCase().replace(/_/g, '-') : 'utf-8';
      // Only latin-1: it is what numpy's protocol-2 pickles use, and one encoding keeps the cache key the text.
      if (e === 'latin1' || e === 'latin-1' || e === 'iso-8859-1') {
        const cached = encoded.get(text);
        if (cached) return cached;
        const out = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) {
          const c = text.charCodeAt(i);
          if (c > 0xff) fail('_codecs.encode: text is not latin-1');
          out[i] = c;
        }
        encoded.set(text, out);
        return out;
      }
      fail(`_codecs.encode with unsupported encoding '${String(enc).slice(0, 40)}'`);
    }
    case 'scalar': {
      // numpy scalars: scalar(dtype, raw_bytes) → a plain number.
      const [dt, raw] = a;
      if (!(dt instanceof PyDtype) || !(raw instanceof Uint8Array) || raw.length !== dt.itemsize) fail('malformed numpy scalar');
      return scalarValue(dt, raw);
    }
    case 'tuple': {
      // tuple() or tuple(iterable): only a tuple or list argument, copied into a new tuple.
      if (a.length === 0) return new PyTuple([]);
      const it = a[0];
      if (a.length !== 1 || !(it instanceof PyTuple || it instanceof PyList)) fail(`tuple() of a ${describe(it)} is not supported`);
      return new PyTuple([...it.items]);
    }
    case 'OrderedDict': {
      if (a.length !== 0) fail('OrderedDict with constructor arguments is not supported');
      return new PyDict(true);
    }
    case 'ndarray':
      fail(`${how} of numpy.ndarray directly is not supported`);
  }
}

/** BUILD: numpy's `__setstate__` for an array (shape, dtype, order, bytes checked against each other) or a dtype. */
export function buildState(obj: PyValue, state: PyValue, fail: Fail, maxRank: number): void {
  if (obj instanceof PyNdArray) {
    if (!(state instanceof PyTuple)) fail(`numpy array state is a ${describe(state)}`);
    // ndarray.__setstate__ accepts (version, shape, dtype, is_fortran, data) or the older 4-tuple.
    const s = state.items.length === 5 ? state.items.slice(1) : state.items.length === 4 ? state.items : null;
    if (!s) fail(`numpy array state has ${state.items.length} items`);
    const [shape, dtype, fortran, raw] = s as [PyValue, PyValue, PyValue, PyValue];
    if (!(shape instanceof PyTuple) || shape.items.length > maxRank) fail('numpy array shape is not a tuple of rank ≤ ' + maxRank);
    const dims = shape.items.map((d) => (typeof d === 'number' ? d : -1));
    if (!(dtype instanceof PyDtype)) fail(`numpy array dtype is a ${describe(dtype)}`);
    let data: Uint8Array;
    if (raw instanceof Uint8Array) data = raw;
    else if (typeof raw === 'string') {
      // Python 2 pickles store the buffer as a (latin-1) str.
      data = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i) & 0xff;
    } else fail(`numpy array data is a ${describe(raw)} (object arrays are not weights)`);
    const n = shapeSize(dims, 'numpy array');
    if (n * dtype.itemsize !== data.length) {
      fail(`numpy array of shape [${dims.join(', ')}] and dtype ${dtype.str} needs ${n * dtype.itemsize} bytes, found ${data.length}`);
    }
    obj.shape = dims;
    obj.dtype = dtype;
    obj.fortran = fortran === true || fortran === 1;
    obj.data = data;
    return;
  }
  if (obj instanceof PyDtype) {
    // dtype.__setstate__: (version, endian, subdescr, names, fields, elsize, alignment, flags).
    if (!(state instanceof PyTuple) || state.items.length < 2) fail('malformed numpy dtype state');
    const endian = state.items[1];
    if (endian === '>') obj.littleEndian = obj.itemsize === 1;
    else if (endian === '<' || endian === '|' || endian === '=') obj.littleEndian = true;
    else fail('malformed numpy dtype byte order');
    if (state.items[2] !== null && state.items[2] !== undefined) fail('structured numpy dtypes are not supported');
    return;
  }
  fail(`BUILD on a ${describe(obj)} is not supported`);
}
