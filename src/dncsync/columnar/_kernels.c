/*
 * dncsync.columnar._kernels: the fast path's per-row loops, compiled.
 *
 * Each function is one pass over a batch that the numpy code in dncsync.columnar.shapes and
 * dncsync.columnar.phones does as a dozen array passes, with the same answers: the numpy code
 * is the reference (tests/ingest/test_kernels.py holds the two together) and runs wherever
 * this module was not built. Arguments are buffers (numpy arrays, pyarrow buffers); results
 * are written into arrays the caller allocated. The GIL is released while a loop runs, so the
 * reading thread parses the next block meanwhile.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DIGITS 19
#define MAX_ROW_BYTES 250

static const uint64_t POW10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
    10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
};

/* Buffers of the expected item size and count; released together. */
typedef struct {
    Py_buffer views[24];
    int count;
} Views;

static void release(Views *views) {
    for (int i = 0; i < views->count; i++) PyBuffer_Release(&views->views[i]);
    views->count = 0;
}

/* A buffer of at least `items` items of `size` bytes; NULL (exception set) otherwise. */
static void *view(Views *views, PyObject *object, Py_ssize_t size, Py_ssize_t items,
                  int writable, const char *name) {
    if (views->count >= (int)(sizeof views->views / sizeof views->views[0])) {
        PyErr_SetString(PyExc_SystemError, "too many buffers");
        return NULL;
    }
    Py_buffer *buffer = &views->views[views->count];
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, buffer, flags) < 0) return NULL;
    views->count++;
    if (buffer->len < size * items) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, %zd needed", name, buffer->len,
                     size * items);
        return NULL;
    }
    return buffer->buf;
}

/* The buffers released; None, or a ValueError when a row fell outside the tables. */
static PyObject *finish(Views *views, int broken) {
    release(views);
    if (broken) {
        PyErr_SetString(PyExc_ValueError, "a row's calling code, length or state is outside the tables");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Digits of x (< 10^19) above the last `keep` ones: x // 10^(count - keep), as head_digits. */
static inline int64_t head(uint64_t value, int64_t count, int64_t keep) {
    int64_t shift = count - keep;
    if (shift < 0) shift = 0;
    if (shift > 19) shift = 19;
    return (int64_t)(value / POW10[shift]);
}

/* ---------------------------------------------------------------------------------------
 * plain(offsets, data, size, rows, values, counts, plus, leading) -> how many
 *
 * shapes._plain: the values in the plain shape `[ (]*\+?[ (]*[0-9][0-9 ().\-/]*[0-9][ )]*`
 * (at most 250 bytes), in order: their row, digit count, last 19 digits as an integer,
 * whether a + leads, and first three digits (the last digit repeated when it has fewer),
 * written compactly at the front of the output arrays (each `size` long).
 * `offsets` are the column's int32 value offsets (size + 1 of them) into `data`.
 */
enum { OTHER = 0, SPACE, OPEN, CLOSE, SEPARATOR, PLUS };

static unsigned char byte_class[256];

static void init_classes(void) {
    memset(byte_class, OTHER, sizeof byte_class);
    byte_class[' '] = SPACE;
    byte_class['('] = OPEN;
    byte_class[')'] = CLOSE;
    byte_class['.'] = SEPARATOR;
    byte_class['-'] = SEPARATOR;
    byte_class['/'] = SEPARATOR;
    byte_class['+'] = PLUS;
}

static PyObject *plain(PyObject *self, PyObject *args) {
    PyObject *o_offsets, *o_data, *o_rows, *o_values, *o_counts, *o_plus, *o_leading;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "OOnOOOOO", &o_offsets, &o_data, &size, &o_rows, &o_values,
                          &o_counts, &o_plus, &o_leading))
        return NULL;
    Views views = {.count = 0};
    const int32_t *offsets = view(&views, o_offsets, 4, size + 1, 0, "offsets");
    const unsigned char *data = offsets ? view(&views, o_data, 1, 0, 0, "data") : NULL;
    int64_t *rows = data ? view(&views, o_rows, 8, size, 1, "rows") : NULL;
    uint64_t *values = rows ? view(&views, o_values, 8, size, 1, "values") : NULL;
    int64_t *counts = values ? view(&views, o_counts, 8, size, 1, "counts") : NULL;
    uint8_t *plus = counts ? view(&views, o_plus, 1, size, 1, "plus") : NULL;
    int64_t *leading = plus ? view(&views, o_leading, 8, size, 1, "leading") : NULL;
    if (leading == NULL) {
        release(&views);
        return NULL;
    }
    Py_ssize_t data_len = views.views[1].len;
    if (size > 0 && (offsets[0] < 0 || offsets[size] > data_len || offsets[size] < offsets[0])) {
        release(&views);
        PyErr_SetString(PyExc_ValueError, "offsets run outside the data");
        return NULL;
    }
    Py_ssize_t found = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < size; row++) {
        int32_t start = offsets[row], stop = offsets[row + 1];
        if (stop - start > MAX_ROW_BYTES || stop < start) continue;
        int64_t digits = 0;
        int pluses = 0, bad = 0;
        int after_bad = 0; /* "(" or a separator since the last digit */
        uint64_t value = 0;
        unsigned char first3[3] = {0, 0, 0};
        for (int32_t at = start; at < stop && !bad; at++) {
            unsigned digit = (unsigned)data[at] - '0';
            if (digit < 10) { /* most bytes */
                if (digits < 3) first3[digits] = (unsigned char)digit;
                /* the last 19 digits: past 18, drop the first before adding (a division,
                 * so only then) */
                if (digits >= 18) value %= 1000000000000000000ULL;
                value = value * 10 + digit;
                digits++;
                after_bad = 0;
                continue;
            }
            switch (byte_class[data[at]]) {
            case SPACE:
                break;
            case OPEN:
                after_bad |= digits != 0;
                break;
            case CLOSE:
                bad = digits == 0;
                break;
            case SEPARATOR:
                bad = digits == 0;
                after_bad = 1;
                break;
            case PLUS: /* only before the first digit, and once */
                bad = digits != 0 || pluses;
                pluses++;
                break;
            default:
                bad = 1;
            }
        }
        if (bad || digits < 2 || after_bad) continue;
        rows[found] = row;
        values[found] = value;
        counts[found] = digits;
        plus[found] = (uint8_t)pluses;
        int64_t lead = 0;
        for (int64_t ahead = 0; ahead < 3; ahead++)
            lead = lead * 10 + first3[ahead < digits - 1 ? ahead : digits - 1];
        leading[found] = lead;
        found++;
    }
    Py_END_ALLOW_THREADS
    release(&views);
    return PyLong_FromSsize_t(found);
}

typedef struct {
    const int64_t *moves, *starts, *length_result;
    const uint8_t *valid;
    Py_ssize_t moves_size, states, slots;
} Tables;

/* The DFA's verdict on an NSN of `length` (<= 17) digits; -1 when the tables are broken. */
static int walk(const Tables *t, int64_t slot, uint64_t nsn, int64_t length) {
    if (slot < 0 || slot >= t->slots || length < 0 || length > 17) return -1;
    unsigned char digit[17];
    for (int64_t place = length - 1; place >= 0; place--) {
        digit[place] = (unsigned char)(nsn % 10);
        nsn /= 10;
    }
    int64_t at = t->starts[slot];
    for (int64_t place = 0; place < length; place++) {
        int64_t next = at + digit[place];
        if (next < 0 || next >= t->moves_size) return -1;
        at = t->moves[next];
    }
    if (at < 0 || at / 10 >= t->states) return -1;
    return t->valid[at / 10] != 0;
}

static int tables_of(Views *views, PyObject *moves, PyObject *valid, PyObject *starts,
                     PyObject *lengths, Tables *t) {
    t->moves = view(views, moves, 8, 0, 0, "moves");
    if (t->moves == NULL) return -1;
    t->moves_size = views->views[views->count - 1].len / 8;
    t->valid = view(views, valid, 1, 0, 0, "valid");
    if (t->valid == NULL) return -1;
    t->states = views->views[views->count - 1].len;
    t->starts = view(views, starts, 8, 0, 0, "starts");
    if (t->starts == NULL) return -1;
    t->slots = views->views[views->count - 1].len / 8;
    t->length_result = view(views, lengths, 8, t->slots * 21, 0, "length_result");
    return t->length_result == NULL ? -1 : 0;
}

/* phones._judge_all's verdict on one NSN of a calling code (slot in the validity tables):
 * too long past 17 digits, else _test_number_length's answer and the DFA (or the possible
 * lengths alone); an accepted number that fits 19 digits gets its key. 0, or -1 when a
 * slot, length or state is outside the tables. */
typedef struct {
    const int64_t *reasons; /* by _test_number_length answer: the reject reason */
    const uint8_t *possible; /* by answer: is_possible_number */
    Py_ssize_t kinds;
    int possible_only;
    int64_t too_long, accept, fallback;
} Verdicts;

static int verdict_of(const Tables *t, const Verdicts *v, int64_t slot, int64_t calling,
                      uint64_t nsn, int64_t length, int64_t *code, uint64_t *key) {
    *key = 0;
    if (length > 17) {
        *code = v->too_long;
        return 0;
    }
    if (slot < 0 || slot >= t->slots || length < 0) return -1;
    int64_t kind = t->length_result[slot * 21 + length];
    if (kind < 0 || kind >= v->kinds) return -1;
    int accepted = v->possible_only ? v->possible[kind] != 0 : walk(t, slot, nsn, length);
    if (accepted < 0) return -1;
    if (!accepted) {
        *code = v->reasons[kind];
    } else if (1 + (calling >= 10) + (calling >= 100) + length > MAX_DIGITS) {
        *code = v->fallback;
    } else {
        *code = v->accept;
        *key = (uint64_t)calling * POW10[length] + nsn;
    }
    return 0;
}

/* The reason and possible-length tables (by _test_number_length answer) into `v`. */
static int verdicts_from(Views *views, PyObject *reasons, PyObject *possible, Verdicts *v) {
    v->reasons = view(views, reasons, 8, 0, 0, "reason_by_length");
    if (v->reasons == NULL) return -1;
    v->kinds = views->views[views->count - 1].len / 8;
    v->possible = view(views, possible, 1, v->kinds, 0, "possible_by_length");
    return v->possible == NULL ? -1 : 0;
}

/* ---------------------------------------------------------------------------------------
 * judge(cc, nsn, nsn_len, slot_by_code, length_result, moves, valid, starts,
 *       reason_by_length, possible_by_length, possible_only, too_long, accept, fallback,
 *       code, keys)
 *
 * phones._judge_all for rows whose calling codes all have a slot in the tables: NSNs over 17
 * digits are too long; otherwise _test_number_length's answer (length_result[slot * 21 +
 * min(length, 20)]) and the validity DFA walked digit by digit (moves[state * 10 + digit] is
 * the next state * 10; starts[slot] the start state * 10; valid[state]) give the verdict, and
 * an accepted number that fits 19 digits its key, cc * 10^length + nsn.
 */
static PyObject *judge(PyObject *self, PyObject *args) {
    PyObject *o_cc, *o_nsn, *o_len, *o_slot, *o_lengths, *o_moves, *o_valid, *o_starts;
    PyObject *o_reasons, *o_possible, *o_code, *o_keys;
    Verdicts v;
    long long too_long, accept, fallback;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOpLLLOO", &o_cc, &o_nsn, &o_len, &o_slot, &o_lengths,
                          &o_moves, &o_valid, &o_starts, &o_reasons, &o_possible,
                          &v.possible_only, &too_long, &accept, &fallback, &o_code, &o_keys))
        return NULL;
    v.too_long = too_long;
    v.accept = accept;
    v.fallback = fallback;
    Views views = {.count = 0};
    Tables t;
    const int64_t *cc = view(&views, o_cc, 8, 0, 0, "cc");
    Py_ssize_t rows = cc ? views.views[0].len / 8 : 0;
    const uint64_t *nsn = cc ? view(&views, o_nsn, 8, rows, 0, "nsn") : NULL;
    const int64_t *nsn_len = nsn ? view(&views, o_len, 8, rows, 0, "nsn_len") : NULL;
    const int64_t *slot_by_code = nsn_len ? view(&views, o_slot, 8, 1000, 0, "slots") : NULL;
    int failed = slot_by_code == NULL ||
                 tables_of(&views, o_moves, o_valid, o_starts, o_lengths, &t) < 0 ||
                 verdicts_from(&views, o_reasons, o_possible, &v) < 0;
    int64_t *code = failed ? NULL : view(&views, o_code, 8, rows, 1, "code");
    uint64_t *keys = code ? view(&views, o_keys, 8, rows, 1, "keys") : NULL;
    if (keys == NULL) {
        release(&views);
        return NULL;
    }
    int broken = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < rows && !broken; row++) {
        int64_t calling = cc[row];
        int64_t slot = (calling >= 0 && calling < 1000) ? slot_by_code[calling] : -1;
        broken = verdict_of(&t, &v, slot, calling, nsn[row], nsn_len[row], &code[row], &keys[row]);
    }
    Py_END_ALLOW_THREADS
    return finish(&views, broken);
}

/* ---------------------------------------------------------------------------------------
 * block_facts(block) -> (lines, returns, crlf, quotes, nul, ascii)
 *
 * What records.CsvRecords._block asks of a block before trusting pyarrow's parse, in one
 * pass instead of six: LF count, CR count, CR LF pairs, double quotes, whether a NUL byte
 * occurs, and whether every byte is ASCII.
 */
static PyObject *block_facts(PyObject *self, PyObject *arg) {
    Py_buffer buffer;
    if (PyObject_GetBuffer(arg, &buffer, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    const unsigned char *data = buffer.buf;
    Py_ssize_t size = buffer.len;
    Py_ssize_t lines = 0, returns = 0, crlf = 0, quotes = 0, nul = 0;
    unsigned char high = 0;
    Py_BEGIN_ALLOW_THREADS
    /* Branch-free sums, so that the compiler vectorizes the loop (a block is megabytes). */
    for (Py_ssize_t at = 0; at + 1 < size; at++) {
        unsigned char byte = data[at];
        lines += byte == '\n';
        returns += byte == '\r';
        crlf += (byte == '\r') & (data[at + 1] == '\n');
        quotes += byte == '"';
        nul += byte == 0;
        high |= byte;
    }
    if (size > 0) {
        unsigned char byte = data[size - 1];
        lines += byte == '\n';
        returns += byte == '\r';
        quotes += byte == '"';
        nul += byte == 0;
        high |= byte;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buffer);
    return Py_BuildValue("(nnnnOO)", lines, returns, crlf, quotes, nul ? Py_True : Py_False,
                         (high & 0x80) ? Py_False : Py_True);
}

/* ---------------------------------------------------------------------------------------
 * entry_lines(keys, meta, reasons, policies, sources) -> bytes
 *
 * entryfile.write_columns' lines for a chunk of the merge index: "+key,reason,policy,
 * expires_at,date_collected,source\n" with ISO 8601 dates (empty for none). `meta` is packed
 * as columnar.index packs it; `reasons` (by strength), `policies` (never, relative,
 * absolute) and `sources` (by id) are the texts as bytes, sources already safe for CSV.
 */
#define REASON_SHIFT 60
#define EXP_SHIFT 37
#define DC_SHIFT 15
#define EXP_MASK ((1LL << 23) - 1)
#define DC_MASK ((1LL << 22) - 1)
#define SRC_MASK ((1LL << 15) - 1)

typedef struct {
    const char *text;
    Py_ssize_t size;
} Text;

/* Texts of a tuple of bytes; NULL (exception set) when one is not bytes. */
static Text *texts_of(PyObject *tuple, Py_ssize_t *count) {
    if (!PyTuple_Check(tuple)) {
        PyErr_SetString(PyExc_TypeError, "texts must be a tuple of bytes");
        return NULL;
    }
    *count = PyTuple_GET_SIZE(tuple);
    Text *texts = PyMem_Calloc(*count ? *count : 1, sizeof(Text));
    if (texts == NULL) return (Text *)PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < *count; i++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        if (!PyBytes_Check(item)) {
            PyMem_Free(texts);
            PyErr_SetString(PyExc_TypeError, "texts must be a tuple of bytes");
            return NULL;
        }
        texts[i].text = PyBytes_AS_STRING(item);
        texts[i].size = PyBytes_GET_SIZE(item);
    }
    return texts;
}

/* date.fromordinal(ordinal).isoformat() into out (10 bytes), for years 1 to 9999. */
static void iso_date(int64_t ordinal, char *out) {
    /* days since 0000-03-01 (proleptic Gregorian), after H. Hinnant's civil_from_days */
    int64_t z = ordinal + 305;
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    out[0] = (char)('0' + (y / 1000) % 10);
    out[1] = (char)('0' + (y / 100) % 10);
    out[2] = (char)('0' + (y / 10) % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
}

static int digits_of(uint64_t value) {
    int count = 1;
    while (count < 20 && value >= POW10[count]) count++;
    return count;
}

static PyObject *entry_lines(PyObject *self, PyObject *args) {
    PyObject *o_keys, *o_meta, *o_reasons, *o_policies, *o_sources;
    if (!PyArg_ParseTuple(args, "OOO!O!O!", &o_keys, &o_meta, &PyTuple_Type, &o_reasons,
                          &PyTuple_Type, &o_policies, &PyTuple_Type, &o_sources))
        return NULL;
    Views views = {.count = 0};
    const uint64_t *keys = view(&views, o_keys, 8, 0, 0, "keys");
    Py_ssize_t rows = keys ? views.views[0].len / 8 : 0;
    const int64_t *meta = keys ? view(&views, o_meta, 8, rows, 0, "meta") : NULL;
    if (meta == NULL) {
        release(&views);
        return NULL;
    }
    Py_ssize_t reason_count = 0, policy_count = 0, source_count = 0;
    Text *reasons = texts_of(o_reasons, &reason_count);
    Text *policies = reasons ? texts_of(o_policies, &policy_count) : NULL;
    Text *sources = policies ? texts_of(o_sources, &source_count) : NULL;
    PyObject *result = NULL;
    if (sources == NULL) goto done;
    if (policy_count != 3) {
        PyErr_SetString(PyExc_ValueError, "policies: never, relative, absolute");
        goto done;
    }
    Py_ssize_t size = 0;
    int broken = 0;
    for (Py_ssize_t row = 0; row < rows; row++) {
        int64_t packed = meta[row];
        int64_t reason = (packed >> REASON_SHIFT) & 15;
        int64_t expiry = (packed >> EXP_SHIFT) & EXP_MASK;
        int64_t collected = (packed >> DC_SHIFT) & DC_MASK;
        int64_t source = packed & SRC_MASK;
        if (reason >= reason_count || source >= source_count || packed < 0) {
            broken = 1;
            break;
        }
        int64_t policy = expiry == EXP_MASK ? 0 : ((expiry & 1) ? 1 : 2);
        size += 1 + digits_of(keys[row]) + 1 + reasons[reason].size + 1 + policies[policy].size;
        size += 1 + (expiry == EXP_MASK ? 0 : 10) + 1 + (collected == DC_MASK ? 0 : 10) + 1;
        size += sources[source].size + 1;
    }
    if (broken) {
        PyErr_SetString(PyExc_ValueError, "a packed entry's reason or source is outside the texts");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, size);
    if (result == NULL) goto done;
    char *out = PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < rows; row++) {
        int64_t packed = meta[row];
        int64_t expiry = (packed >> EXP_SHIFT) & EXP_MASK;
        int64_t collected = (packed >> DC_SHIFT) & DC_MASK;
        int64_t policy = expiry == EXP_MASK ? 0 : ((expiry & 1) ? 1 : 2);
        const Text *reason = &reasons[(packed >> REASON_SHIFT) & 15];
        const Text *source = &sources[packed & SRC_MASK];
        uint64_t key = keys[row];
        int digits = digits_of(key);
        *out++ = '+';
        for (int place = digits - 1; place >= 0; place--) {
            out[place] = (char)('0' + key % 10);
            key /= 10;
        }
        out += digits;
        *out++ = ',';
        memcpy(out, reason->text, (size_t)reason->size);
        out += reason->size;
        *out++ = ',';
        memcpy(out, policies[policy].text, (size_t)policies[policy].size);
        out += policies[policy].size;
        *out++ = ',';
        if (expiry != EXP_MASK) {
            iso_date(expiry >> 1, out);
            out += 10;
        }
        *out++ = ',';
        if (collected != DC_MASK) {
            iso_date(collected, out);
            out += 10;
        }
        *out++ = ',';
        memcpy(out, source->text, (size_t)source->size);
        out += source->size;
        *out++ = '\n';
    }
    Py_END_ALLOW_THREADS
done:
    PyMem_Free(reasons);
    PyMem_Free(policies);
    PyMem_Free(sources);
    release(&views);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * judge_us(digits, counts, plus, leading, known, code_info, valid tables, general tables,
 *          reason_by_length, possible_by_length, keeps_prefix, possible_only, codes, missing,
 *          code, keys)
 *
 * phones.judge_prepared for default region US, in one pass over the prepared rows: the route
 * (national, 011 or +, too long), phones._national_us, phones._international's country code
 * and a literal national prefix (phones._strip_literal), and phones._judge_all's verdict.
 * Rows whose prefix needs a regular expression (or whose code's tables are not loaded yet)
 * get `defer`: the caller runs the numpy code on them. Rows whose calling code's tables are
 * not loaded get `need`, and missing[code] = 1: the caller loads them and runs those again.
 *
 * code_info holds five int64 rows of 1000 (by calling code; -1: not loaded): the digits a
 * national prefix can start with (bits), a literal prefix's value and digit count (0: none
 * or not literal), the slot in the validity tables and the slot in the general tables.
 */
enum { INFO_STARTS = 0, INFO_PREFIX = 1000, INFO_PREFIX_SIZE = 2000, INFO_VALID = 3000,
       INFO_GENERAL = 4000 };

static PyObject *judge_us(PyObject *self, PyObject *args) {
    PyObject *o_digits, *o_counts, *o_plus, *o_leading, *o_known, *o_info;
    PyObject *o_vm, *o_vv, *o_vs, *o_vl, *o_gm, *o_gv, *o_gs, *o_gl;
    PyObject *o_reasons, *o_possible, *o_keeps, *o_missing, *o_code, *o_keys;
    Verdicts v;
    long long too_long, too_short, invalid_cc, accept, fallback, defer, need;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOOOOOOpLLLLLLLOOO", &o_digits, &o_counts, &o_plus,
                          &o_leading, &o_known, &o_info, &o_vm, &o_vv, &o_vs, &o_vl, &o_gm,
                          &o_gv, &o_gs, &o_gl, &o_reasons, &o_possible, &o_keeps,
                          &v.possible_only, &too_long, &too_short, &invalid_cc, &accept,
                          &fallback, &defer, &need, &o_missing, &o_code, &o_keys))
        return NULL;
    Views views = {.count = 0};
    Tables valid_t, general_t;
    const uint64_t *digits = view(&views, o_digits, 8, 0, 0, "digits");
    Py_ssize_t rows = digits ? views.views[0].len / 8 : 0;
    const int64_t *counts = digits ? view(&views, o_counts, 8, rows, 0, "counts") : NULL;
    const uint8_t *plus = counts ? view(&views, o_plus, 1, rows, 0, "plus") : NULL;
    const int64_t *leading = plus ? view(&views, o_leading, 8, rows, 0, "leading") : NULL;
    const uint8_t *known = leading ? view(&views, o_known, 1, 1000, 0, "known") : NULL;
    const int64_t *info = known ? view(&views, o_info, 8, 5000, 0, "code_info") : NULL;
    int failed = info == NULL || tables_of(&views, o_vm, o_vv, o_vs, o_vl, &valid_t) < 0 ||
                 tables_of(&views, o_gm, o_gv, o_gs, o_gl, &general_t) < 0;
    v.too_long = too_long;
    v.accept = accept;
    v.fallback = fallback;
    failed = failed || verdicts_from(&views, o_reasons, o_possible, &v) < 0;
    Py_ssize_t kinds = v.kinds;
    const uint8_t *keeps_prefix =
        failed ? NULL : view(&views, o_keeps, 1, kinds, 0, "keeps_prefix");
    uint8_t *missing = keeps_prefix ? view(&views, o_missing, 1, 1000, 1, "missing") : NULL;
    int64_t *code = missing ? view(&views, o_code, 8, rows, 1, "code") : NULL;
    uint64_t *keys = code ? view(&views, o_keys, 8, rows, 1, "keys") : NULL;
    failed = keys == NULL;
    if (failed) {
        release(&views);
        return NULL;
    }
    int broken = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < rows && !broken; row++) {
        uint64_t value = digits[row];
        int64_t count = counts[row];
        int64_t verdict = fallback, calling = 0, nsn_len = 0;
        uint64_t nsn = 0;
        int ok = count >= 3 && count <= MAX_DIGITS;
        int idd = !plus[row] && count >= 6 && leading[row] == 11 && head(value, count, 4) % 10 != 0;
        if (ok && !plus[row] && !idd) { /* national: phones._national_us */
            int64_t first = head(value, count, 1);
            int64_t second = head(value, count, 2) % 10;
            int64_t third = head(value, count, 3) % 10;
            int one = first == 1;
            if (one && ((count == 8 && second == 3) || (count == 9 && second == 1 && third == 3)))
                goto decided; /* phonenumbers decides */
            int64_t drop = 0;
            if (one && count == 11) drop = second == 1 ? 2 : 1;
            if (one && count >= 12) {
                drop = 1;
                if (second == 1) drop = 2;
                if (second == 1 && third == 1 && count - 3 >= 10) drop = 3;
            }
            calling = 1;
            nsn_len = count - drop;
            nsn = value % POW10[nsn_len];
        } else if (!ok) {
            if (count > MAX_DIGITS && !plus[row] && leading[row] >= 0 && leading[row] != 11)
                verdict = too_long;
            goto decided;
        } else { /* after + or 011: phones._international */
            int64_t e_count = idd ? count - 3 : count;
            uint64_t e_value = idd ? value % POW10[count - 3] : value;
            if (e_count <= 2) {
                verdict = too_short;
                goto decided;
            }
            if (head(e_value, e_count, 1) == 0) {
                if (head(e_value, e_count, 3) != 11) verdict = invalid_cc;
                goto decided; /* "+0 011...": phonenumbers */
            }
            int64_t cc_len = 0;
            for (int64_t size = 3; size >= 1; size--) {
                int64_t candidate = head(e_value, e_count, size);
                if (e_count >= size && known[candidate]) {
                    calling = candidate;
                    cc_len = size;
                }
            }
            if (calling == 0) {
                verdict = invalid_cc;
                goto decided;
            }
            int64_t rest_len = e_count - cc_len;
            if (rest_len < 2) {
                verdict = too_short;
                goto decided;
            }
            uint64_t rest = e_value % POW10[rest_len];
            nsn = rest;
            nsn_len = rest_len;
            int64_t starts = info[INFO_STARTS + calling];
            if (starts < 0) {
                missing[calling] = 1;
                verdict = need;
                goto decided;
            }
            if ((starts >> head(rest, rest_len, 1)) & 1) { /* a national prefix may lead */
                int64_t size = info[INFO_PREFIX_SIZE + calling];
                int64_t general = info[INFO_GENERAL + calling];
                if (size <= 0 || general < 0) {
                    verdict = defer; /* a prefix pattern: the regex kernels decide */
                    goto decided;
                }
                if (rest_len > 17)
                    goto decided; /* past what the general DFA reads: phonenumbers */
                if (rest_len > size && head(rest, rest_len, size) == info[INFO_PREFIX + calling]) {
                    int64_t stripped_len = rest_len - size;
                    uint64_t stripped = rest % POW10[stripped_len];
                    int viable = walk(&general_t, general, rest, rest_len);
                    int still = walk(&general_t, general, stripped, stripped_len);
                    if (viable < 0 || still < 0) { /* walk checked the slot */
                        broken = 1;
                        break;
                    }
                    int64_t result = general_t.length_result[general * 21 + stripped_len];
                    if (result < 0 || result >= kinds) {
                        broken = 1;
                        break;
                    }
                    if (!(viable && !still) && !keeps_prefix[result]) {
                        nsn = stripped;
                        nsn_len = stripped_len;
                    }
                }
            }
        }
        /* phones._judge_all */
        int64_t slot = info[INFO_VALID + calling];
        if (slot < 0 && nsn_len <= 17) {
            missing[calling] = 1;
            verdict = need;
            goto decided;
        }
        if (verdict_of(&valid_t, &v, slot, calling, nsn, nsn_len, &verdict, &keys[row]) < 0) {
            broken = 1;
            break;
        }
    decided:
        code[row] = verdict;
        if (verdict != accept) keys[row] = 0;
    }
    Py_END_ALLOW_THREADS
    return finish(&views, broken);
}

/* ---------------------------------------------------------------------------------------
 * walk(moves, valid, start, nsn, lengths, out)
 *
 * digitdfa.ValidityDfa.decide: one DFA (moves[state * 10 + digit] = next state * 10) over
 * NSNs of `lengths` digits (<= 17, leading zeros counted), out = valid[final state].
 */
static PyObject *walk_one(PyObject *self, PyObject *args) {
    PyObject *o_moves, *o_valid, *o_nsn, *o_len, *o_out;
    long long start;
    if (!PyArg_ParseTuple(args, "OOLOOO", &o_moves, &o_valid, &start, &o_nsn, &o_len, &o_out))
        return NULL;
    Views views = {.count = 0};
    Tables t = {.slots = 1};
    int64_t starts[1] = {start * 10};
    t.starts = starts;
    t.moves = view(&views, o_moves, 8, 0, 0, "moves");
    t.moves_size = t.moves ? views.views[0].len / 8 : 0;
    t.valid = t.moves ? view(&views, o_valid, 1, 0, 0, "valid") : NULL;
    t.states = t.valid ? views.views[1].len : 0;
    const uint64_t *nsn = t.valid ? view(&views, o_nsn, 8, 0, 0, "nsn") : NULL;
    Py_ssize_t rows = nsn ? views.views[2].len / 8 : 0;
    const int64_t *lengths = nsn ? view(&views, o_len, 8, rows, 0, "lengths") : NULL;
    uint8_t *out = lengths ? view(&views, o_out, 1, rows, 1, "out") : NULL;
    if (out == NULL) {
        release(&views);
        return NULL;
    }
    int broken = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < rows; row++) {
        int verdict = walk(&t, 0, nsn[row], lengths[row]);
        if (verdict < 0) {
            broken = 1;
            break;
        }
        out[row] = (uint8_t)verdict;
    }
    Py_END_ALLOW_THREADS
    return finish(&views, broken);
}

/* ---------------------------------------------------------------------------------------
 * digit_strings(values, lengths, offsets) -> bytes
 *
 * phones._strings: each value as text of exactly `lengths` digits (leading zeros kept; 1 to
 * 19), concatenated; offsets (int32, rows + 1) are filled for a pyarrow StringArray.
 */
static PyObject *digit_strings(PyObject *self, PyObject *args) {
    PyObject *o_values, *o_len, *o_offsets;
    if (!PyArg_ParseTuple(args, "OOO", &o_values, &o_len, &o_offsets)) return NULL;
    Views views = {.count = 0};
    const uint64_t *values = view(&views, o_values, 8, 0, 0, "values");
    Py_ssize_t rows = values ? views.views[0].len / 8 : 0;
    const int64_t *lengths = values ? view(&views, o_len, 8, rows, 0, "lengths") : NULL;
    int32_t *offsets = lengths ? view(&views, o_offsets, 4, rows + 1, 1, "offsets") : NULL;
    if (offsets == NULL) {
        release(&views);
        return NULL;
    }
    Py_ssize_t size = 0;
    for (Py_ssize_t row = 0; row < rows; row++) {
        if (lengths[row] < 0 || lengths[row] > 19) {
            release(&views);
            PyErr_SetString(PyExc_ValueError, "a length is outside 0..19");
            return NULL;
        }
        size += lengths[row];
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, size);
    if (result != NULL) {
        char *out = PyBytes_AS_STRING(result);
        int32_t at = 0;
        for (Py_ssize_t row = 0; row < rows; row++) {
            offsets[row] = at;
            uint64_t value = values[row];
            for (int64_t place = lengths[row] - 1; place >= 0; place--) {
                out[at + place] = (char)('0' + value % 10);
                value /= 10;
            }
            at += (int32_t)lengths[row];
        }
        offsets[rows] = at;
    }
    release(&views);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * reject_lines(lines, offsets, data, codes, ends) -> bytes
 *
 * rejects.RejectsCsv's lines: "line,raw_phone," + ends[code] for each rejected row, the raw
 * value made safe for spreadsheets (a leading ' before = + - @ TAB CR, files.spreadsheet_safe)
 * and quoted for CSV where it holds a comma, quote, CR or LF (quotes doubled). `offsets`
 * (int32, rows + 1) index `data`, the raw values' UTF-8 bytes.
 */
static PyObject *reject_lines(PyObject *self, PyObject *args) {
    PyObject *o_lines, *o_offsets, *o_data, *o_codes, *o_ends;
    if (!PyArg_ParseTuple(args, "OOOOO!", &o_lines, &o_offsets, &o_data, &o_codes,
                          &PyTuple_Type, &o_ends))
        return NULL;
    Views views = {.count = 0};
    const int64_t *lines = view(&views, o_lines, 8, 0, 0, "lines");
    Py_ssize_t rows = lines ? views.views[0].len / 8 : 0;
    const int32_t *offsets = lines ? view(&views, o_offsets, 4, rows + 1, 0, "offsets") : NULL;
    const unsigned char *data = offsets ? view(&views, o_data, 1, 0, 0, "data") : NULL;
    Py_ssize_t data_len = data ? views.views[2].len : 0;
    const int8_t *codes = data ? view(&views, o_codes, 1, rows, 0, "codes") : NULL;
    Py_ssize_t end_count = 0;
    Text *ends = codes ? texts_of(o_ends, &end_count) : NULL;
    PyObject *result = NULL;
    if (ends == NULL) goto done;
    Py_ssize_t size = 0;
    for (Py_ssize_t row = 0; row < rows; row++) {
        int32_t start = offsets[row], stop = offsets[row + 1];
        if (start < 0 || stop < start || stop > data_len || codes[row] < 0 ||
            codes[row] >= end_count || lines[row] < 0) {
            PyErr_SetString(PyExc_ValueError, "a reject's value or reason is outside the data");
            goto done;
        }
        Py_ssize_t quotes = 0;
        int special = 0;
        for (int32_t at = start; at < stop; at++) {
            unsigned char byte = data[at];
            quotes += byte == '"';
            special |= byte == ',' || byte == '"' || byte == '\r' || byte == '\n';
        }
        int formula = stop > start && strchr("=+-@\t\r", data[start]) != NULL && data[start];
        size += 20 + 1 + (stop - start) + formula + (special ? 2 + quotes : 0) + 1;
        size += ends[codes[row]].size;
    }
    PyObject *buffer = PyBytes_FromStringAndSize(NULL, size);
    if (buffer == NULL) goto done;
    char *out = PyBytes_AS_STRING(buffer), *begin = out;
    for (Py_ssize_t row = 0; row < rows; row++) {
        char number[20];
        int digits = 0;
        uint64_t line = (uint64_t)lines[row];
        do {
            number[digits++] = (char)('0' + line % 10);
            line /= 10;
        } while (line);
        while (digits) *out++ = number[--digits];
        *out++ = ',';
        int32_t start = offsets[row], stop = offsets[row + 1];
        int special = 0;
        for (int32_t at = start; at < stop; at++) {
            unsigned char byte = data[at];
            special |= byte == ',' || byte == '"' || byte == '\r' || byte == '\n';
        }
        if (special) *out++ = '"';
        if (stop > start && data[start] && strchr("=+-@\t\r", data[start]) != NULL) *out++ = '\'';
        for (int32_t at = start; at < stop; at++) {
            if (data[at] == '"') *out++ = '"';
            *out++ = (char)data[at];
        }
        if (special) *out++ = '"';
        *out++ = ',';
        memcpy(out, ends[codes[row]].text, (size_t)ends[codes[row]].size);
        out += ends[codes[row]].size;
    }
    if (_PyBytes_Resize(&buffer, out - begin) == 0) result = buffer;
done:
    PyMem_Free(ends);
    release(&views);
    return result;
}

/* ---------------------------------------------------------------------------------------
 * split_block(block, width, wanted, encoded, max_rows, delimiter)
 *     -> (rows, [column, ...], consumed, lines, blank, starts) or None
 *
 * The records of an RFC 4180 block that records.CsvRecords._block has checked (UTF-8, no
 * NUL, no lone CR), as Python's csv module reads them: records end at LF or CR LF, empty
 * lines are skipped (counted in `blank`), fields split at `delimiter`, a field that starts
 * with a quote runs to its closing quote (across delimiters and line ends, kept as they are)
 * with "" read as ". For each column index in `wanted`, its values: as a StringArray's
 * (int32 offsets, bytes), or where `encoded` is true, dictionary-encoded as (int32 indices,
 * dictionary offsets, dictionary bytes), the dictionary in first-seen order (as pyarrow's
 * dictionary_encode). `consumed` bytes hold the records read and `lines` LFs; a record still
 * open at the block's end (a quoted line break past it) is left for the next block. `starts`
 * holds each record's first line within the block (int64). None when there is no whole
 * record, a record is not `width` fields wide, or a quote stands anywhere else (inside an
 * unquoted field, text after a closing quote, a quote still open at the end of the input):
 * the caller's exact reader decides those.
 */
#define MAX_WANTED 32

typedef struct { /* a dictionary being built: open addressing over entry numbers */
    int32_t *slots;   /* entry + 1, 0 for empty */
    uint64_t *hashes; /* by entry */
    int32_t *indices; /* by row */
    Py_ssize_t capacity, count;
} Dictionary;

static uint64_t hash_bytes(const char *text, Py_ssize_t size) {
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < size; i++) hash = (hash ^ (unsigned char)text[i]) * 1099511628211ULL;
    return hash;
}

/* The entry of out[start:end) (added when new, else the bytes are given back); -1 on no
 * memory. `offsets[entry]` is where an entry's bytes start in `out`. */
static Py_ssize_t intern(Dictionary *d, char *out, int32_t *offsets, Py_ssize_t start,
                         Py_ssize_t *end) {
    Py_ssize_t size = *end - start;
    uint64_t hash = hash_bytes(out + start, size);
    if ((d->count + 1) * 2 > d->capacity) {
        Py_ssize_t capacity = d->capacity ? d->capacity * 2 : 1024;
        int32_t *slots = calloc((size_t)capacity, sizeof(int32_t));
        if (slots == NULL) return -1;
        for (Py_ssize_t e = 0; e < d->count; e++) {
            Py_ssize_t at = (Py_ssize_t)(d->hashes[e] & (uint64_t)(capacity - 1));
            while (slots[at]) at = (at + 1) & (capacity - 1);
            slots[at] = (int32_t)(e + 1);
        }
        free(d->slots);
        d->slots = slots;
        d->capacity = capacity;
    }
    Py_ssize_t at = (Py_ssize_t)(hash & (uint64_t)(d->capacity - 1));
    while (d->slots[at]) {
        Py_ssize_t e = d->slots[at] - 1;
        if (d->hashes[e] == hash && offsets[e + 1] - offsets[e] == size &&
            memcmp(out + offsets[e], out + start, (size_t)size) == 0) {
            *end = start;
            return e;
        }
        at = (at + 1) & (d->capacity - 1);
    }
    Py_ssize_t e = d->count++;
    d->slots[at] = (int32_t)(e + 1);
    d->hashes[e] = hash;
    offsets[e + 1] = (int32_t)*end;
    return e;
}

static PyObject *split_block(PyObject *self, PyObject *args) {
    Py_buffer block;
    Py_ssize_t width, max_rows;
    int delimiter;
    PyObject *o_wanted, *o_encoded;
    if (!PyArg_ParseTuple(args, "y*nO!O!nC", &block, &width, &PyTuple_Type, &o_wanted,
                          &PyTuple_Type, &o_encoded, &max_rows, &delimiter))
        return NULL;
    Py_ssize_t wanted_count = PyTuple_GET_SIZE(o_wanted);
    PyObject *result = NULL;
    PyObject *datas[MAX_WANTED] = {NULL}, *offsets[MAX_WANTED] = {NULL};
    PyObject *indices[MAX_WANTED] = {NULL};
    Dictionary dicts[MAX_WANTED];
    memset(dicts, 0, sizeof dicts);
    int encode[MAX_WANTED] = {0};
    Py_ssize_t *slot_of = NULL;
    PyObject *starts = NULL;
    if (wanted_count > MAX_WANTED || width <= 0 || max_rows < 0 || delimiter == '"' ||
        delimiter == '\n' || delimiter == '\r' || delimiter > 127 ||
        PyTuple_GET_SIZE(o_encoded) != wanted_count) {
        PyErr_SetString(PyExc_ValueError, "split_block: bad width or columns");
        goto done;
    }
    slot_of = PyMem_Malloc((size_t)width * sizeof(Py_ssize_t));
    if (slot_of == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < width; i++) slot_of[i] = -1;
    starts = PyBytes_FromStringAndSize(NULL, max_rows * 8);
    if (starts == NULL) goto done;
    for (Py_ssize_t k = 0; k < wanted_count; k++) {
        Py_ssize_t index = PyLong_AsSsize_t(PyTuple_GET_ITEM(o_wanted, k));
        if (index < 0 || index >= width) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a column outside the width");
            goto done;
        }
        slot_of[index] = k;
        encode[k] = PyObject_IsTrue(PyTuple_GET_ITEM(o_encoded, k)) == 1;
        datas[k] = PyBytes_FromStringAndSize(NULL, block.len);
        offsets[k] = PyBytes_FromStringAndSize(NULL, (max_rows + 1) * 4);
        if (datas[k] == NULL || offsets[k] == NULL) goto done;
        if (encode[k]) {
            indices[k] = PyBytes_FromStringAndSize(NULL, max_rows * 4);
            dicts[k].hashes = malloc((size_t)(max_rows + 1) * sizeof(uint64_t));
            if (indices[k] == NULL || dicts[k].hashes == NULL) {
                if (!PyErr_Occurred()) PyErr_NoMemory();
                goto done;
            }
            dicts[k].indices = (int32_t *)PyBytes_AS_STRING(indices[k]);
        }
    }
    const char *data = block.buf;
    Py_ssize_t size = block.len, rows = 0, consumed = 0, lines = 0, blank = 0;
    int64_t *start_of = (int64_t *)PyBytes_AS_STRING(starts);
    const char delim = (char)delimiter;
    const int open_end = size > 0 && data[size - 1] == '\n'; /* more input may follow */
    Py_ssize_t used[MAX_WANTED] = {0};
    char *out[MAX_WANTED];
    int32_t *offs[MAX_WANTED];
    for (Py_ssize_t k = 0; k < wanted_count; k++) {
        out[k] = PyBytes_AS_STRING(datas[k]);
        offs[k] = (int32_t *)PyBytes_AS_STRING(offsets[k]);
        offs[k][0] = 0;
    }
    int ok = 1, no_memory = 0;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t pos = 0, line = 0;
    while (ok && pos < size) {
        if (data[pos] == '\n' || (data[pos] == '\r' && pos + 1 < size && data[pos + 1] == '\n')) {
            pos += data[pos] == '\n' ? 1 : 2; /* an empty line: not a record */
            line++;
            blank++;
            consumed = pos;
            lines = line;
            continue;
        }
        if (rows >= max_rows) {
            ok = 0;
            break;
        }
        for (Py_ssize_t k = 0; k < wanted_count; k++)
            if (!encode[k]) offs[k][rows] = (int32_t)used[k];
        Py_ssize_t at = pos, field = 0, record_line = line;
        int partial = 0;
        for (;;) {
            Py_ssize_t k = field < width ? slot_of[field] : -1;
            Py_ssize_t field_start = k >= 0 ? used[k] : 0;
            if (at < size && data[at] == '"') {
                at++;
                for (;;) {
                    if (at >= size) { /* still open at the block's end */
                        partial = 1;
                        break;
                    }
                    char c = data[at];
                    if (c == '"') {
                        if (at + 1 < size && data[at + 1] == '"') {
                            if (k >= 0) out[k][used[k]++] = '"';
                            at += 2;
                            continue;
                        }
                        at++;
                        break;
                    }
                    if (c == '\n') line++;
                    if (k >= 0) out[k][used[k]++] = c;
                    at++;
                }
                if (partial) break;
                if (at < size && data[at] != delim && data[at] != '\n' && data[at] != '\r')
                    ok = 0; /* text after the closing quote */
            } else {
                Py_ssize_t begin = at;
                while (at < size) {
                    char c = data[at];
                    if (c == delim || c == '\n' || c == '\r') break;
                    if (c == '"') {
                        ok = 0; /* a quote inside an unquoted field */
                        break;
                    }
                    at++;
                }
                if (ok && k >= 0) {
                    memcpy(out[k] + used[k], data + begin, (size_t)(at - begin));
                    used[k] += at - begin;
                }
            }
            if (!ok) break;
            if (k >= 0 && encode[k]) {
                Py_ssize_t entry = intern(&dicts[k], out[k], offs[k], field_start, &used[k]);
                if (entry < 0) {
                    ok = 0;
                    no_memory = 1;
                    break;
                }
                dicts[k].indices[rows] = (int32_t)entry;
            }
            field++;
            if (at < size && data[at] == delim) {
                at++;
                continue;
            }
            break;
        }
        if (partial) {
            /* A quoted line break runs past the block: the record is the next block's (its
             * interned texts stay in the dictionaries, unused). At the end of the input, the
             * exact reader decides what an unclosed quote means. */
            if (!open_end || rows == 0) ok = 0;
            for (Py_ssize_t k = 0; k < wanted_count; k++)
                if (!encode[k]) used[k] = offs[k][rows];
            line = lines;
            break;
        }
        if (!ok) break;
        if (field != width) {
            ok = 0; /* ragged (a missing encoded field: not indexed) */
            break;
        }
        if (at < size && data[at] == '\r') at++;
        if (at < size && data[at] == '\n') {
            at++;
            line++;
        }
        start_of[rows] = record_line;
        rows++;
        pos = at;
        consumed = pos;
        lines = line;
    }
    if (ok)
        for (Py_ssize_t k = 0; k < wanted_count; k++)
            if (!encode[k]) offs[k][rows] = (int32_t)used[k];
    Py_END_ALLOW_THREADS
    if (no_memory) {
        PyErr_NoMemory();
        goto done;
    }
    if (!ok || rows == 0) { /* no row: pyarrow calls the block empty; so does the caller */
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *columns = PyList_New(wanted_count);
    if (columns == NULL) goto done;
    for (Py_ssize_t k = 0; k < wanted_count; k++) {
        Py_ssize_t offset_count = encode[k] ? dicts[k].count + 1 : rows + 1;
        if (_PyBytes_Resize(&datas[k], used[k]) < 0 ||
            _PyBytes_Resize(&offsets[k], offset_count * 4) < 0 ||
            (encode[k] && _PyBytes_Resize(&indices[k], rows * 4) < 0)) {
            Py_DECREF(columns);
            goto done;
        }
        PyObject *column = encode[k] ? PyTuple_Pack(3, indices[k], offsets[k], datas[k])
                                     : PyTuple_Pack(2, offsets[k], datas[k]);
        if (column == NULL) {
            Py_DECREF(columns);
            goto done;
        }
        PyList_SET_ITEM(columns, k, column);
    }
    if (_PyBytes_Resize(&starts, rows * 8) < 0) {
        Py_DECREF(columns);
        goto done;
    }
    result = Py_BuildValue("(nNnnnO)", rows, columns, consumed, lines, blank, starts);
done:
    for (Py_ssize_t k = 0; k < MAX_WANTED; k++) {
        Py_XDECREF(datas[k]);
        Py_XDECREF(offsets[k]);
        Py_XDECREF(indices[k]);
        free(dicts[k].slots);
        free(dicts[k].hashes);
    }
    Py_XDECREF(starts);
    PyMem_Free(slot_of);
    PyBuffer_Release(&block);
    return result;
}

static PyMethodDef methods[] = {
    {"split_block", split_block, METH_VARARGS, "Fields of a checked CSV block (records)."},
    {"reject_lines", reject_lines, METH_VARARGS, "Lines of the rejects file (rejects)."},
    {"walk", walk_one, METH_VARARGS, "One DFA over NSNs (digitdfa.ValidityDfa.decide)."},
    {"digit_strings", digit_strings, METH_VARARGS, "Digit strings of fixed lengths."},
    {"judge_us", judge_us, METH_VARARGS, "Verdicts of prepared rows, region US (phones)."},
    {"entry_lines", entry_lines, METH_VARARGS, "Lines of the entries file (entryfile)."},
    {"block_facts", block_facts, METH_O, "Line ends, quotes, NUL and ASCII of a CSV block."},
    {"plain", plain, METH_VARARGS, "The plain shape's rows, digits and signs (shapes._plain)."},
    {"judge", judge, METH_VARARGS, "Verdicts and keys by calling code (phones._judge_all)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "The fast path's per-row loops, compiled.", -1, methods,
};

PyMODINIT_FUNC PyInit__kernels(void) {
    init_classes();
    return PyModule_Create(&module);
}
