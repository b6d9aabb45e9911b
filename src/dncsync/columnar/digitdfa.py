"""phonenumbers' validity decision for one calling code as a DFA over digits, run with numpy.

`is_valid_number` for a national significant number (NSN) of calling code C is a regular
language: pick the first of C's regions whose leading-digits pattern matches the NSN's start
(or, for a region without one, whose number types accept it), then accept when that region's
general pattern and one of its type patterns fully match, each within its possible lengths.
phonenumbers ships those patterns as RE2-compatible regular expressions over digits, so this
module compiles them (Thompson NFA, then subsets tracked together with the length read so far)
into one transition table per calling code, and a whole column of NSNs is decided with one
table lookup per digit. A pattern using anything beyond the small regex subset phonenumbers'
metadata uses raises Unsupported, and the caller keeps to the per-pattern regex kernels.

pyarrow's regex kernels need the NSNs as strings and one pass per pattern and region; this
takes about as long as one of those passes for the whole decision. Compiling the NANP tables
takes a tenth of a second, so the tables for the pinned phonenumbers version ship with the
package (validity.npz, written by `python -m dncsync.columnar.digitdfa`); another version of
phonenumbers compiles them on first use.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import _test_number_length

from dncsync.columnar import kernels

MAX_NSN = 17  # parse() refuses longer national numbers
_ALL = (1 << 10) - 1  # every digit, as a bit set
_MAX_STATES = 200_000
_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip


class Unsupported(ValueError):
    """A pattern outside the regex subset compiled here."""


# -- regex (digits only) to NFA ------------------------------------------------------------


@dataclass(slots=True)
class _Nfa:
    """States with epsilon moves and digit-set moves; built by Thompson's construction."""

    eps: list[list[int]]
    moves: list[list[tuple[int, int]]]  # (digit bit set, target)

    def new(self) -> int:
        self.eps.append([])
        self.moves.append([])
        return len(self.eps) - 1


Node = tuple[object, ...]


class _Parser:
    """Recursive descent over the regex subset: | () (?:) [] \\d digits ? * + {n} {n,m} {n,}."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def parse(self) -> Node:
        node = self._alternation()
        if self.at != len(self.text):
            raise Unsupported(f"unexpected {self.text[self.at]!r} in {self.text!r}")
        return node

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _alternation(self) -> Node:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.at += 1
            branches.append(self._sequence())
        return ("alt", *branches) if len(branches) > 1 else branches[0]

    def _sequence(self) -> Node:
        items: list[Node] = []
        while self._peek() not in ("", "|", ")"):
            items.append(self._repeat())
        return ("seq", *items)

    def _repeat(self) -> Node:
        atom = self._atom()
        while True:
            char = self._peek()
            if char in ("?", "*", "+"):
                self.at += 1
                low, high = {"?": (0, 1), "*": (0, None), "+": (1, None)}[char]
            elif char == "{":
                close = self.text.find("}", self.at)
                if close < 0:
                    raise Unsupported(self.text)
                body = self.text[self.at + 1 : close]
                self.at = close + 1
                low_text, comma, high_text = body.partition(",")
                if not low_text.isdigit() or (high_text and not high_text.isdigit()):
                    raise Unsupported(self.text)
                low = int(low_text)
                high = (int(high_text) if high_text else None) if comma else low
            else:
                return atom
            if self._peek() == "?":  # lazy: the same language
                self.at += 1
            atom = ("rep", atom, low, high)

    def _atom(self) -> Node:
        char = self._peek()
        if char == "(":
            self.at += 1
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self._peek() == "?":
                raise Unsupported(self.text)
            node = self._alternation()
            if self._peek() != ")":
                raise Unsupported(self.text)
            self.at += 1
            return node
        if char == "[":
            return ("set", self._char_class())
        if char == "\\":
            self.at += 2
            escaped = self.text[self.at - 1 : self.at]
            if escaped == "d":
                return ("set", _ALL)
            if escaped.isdigit() or escaped in ("", "b", "B", "D", "w", "W", "s", "S"):
                raise Unsupported(self.text)
            return ("set", 0)  # an escaped literal that is not a digit: matches no NSN
        if char in ("^", "$", ".") or char == "":
            raise Unsupported(self.text)
        self.at += 1
        return ("set", (1 << int(char)) if char.isdigit() else 0)

    def _char_class(self) -> int:
        self.at += 1
        negate = self._peek() == "^"
        self.at += negate
        bits = 0
        first = True
        while first or self._peek() != "]":
            first = False
            char = self._peek()
            if char == "":
                raise Unsupported(self.text)
            if char == "\\":
                escaped = self.text[self.at + 1 : self.at + 2]
                self.at += 2
                if escaped != "d":
                    raise Unsupported(self.text)
                bits |= _ALL
                continue
            self.at += 1
            if self._peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("]", ""):
                end = self.text[self.at + 1]
                self.at += 2
                if not (char.isdigit() and end.isdigit()):
                    raise Unsupported(self.text)
                for digit in range(int(char), int(end) + 1):
                    bits |= 1 << digit
            elif char.isdigit():
                bits |= 1 << int(char)
        self.at += 1
        return (_ALL & ~bits) if negate else bits


def _build(nfa: _Nfa, node: Node, start: int) -> int:
    """Add `node` to the NFA from `start`; returns its end state."""
    kind = node[0]
    if kind == "set":
        end = nfa.new()
        bits = node[1]
        assert isinstance(bits, int)
        if bits:
            nfa.moves[start].append((bits, end))
        return end
    if kind == "seq":
        for item in node[1:]:
            assert isinstance(item, tuple)
            start = _build(nfa, item, start)
        return start
    if kind == "alt":
        end = nfa.new()
        for branch in node[1:]:
            assert isinstance(branch, tuple)
            entry = nfa.new()
            nfa.eps[start].append(entry)
            nfa.eps[_build(nfa, branch, entry)].append(end)
        return end
    assert kind == "rep"
    inner, low, high = node[1], node[2], node[3]
    assert isinstance(inner, tuple)
    assert isinstance(low, int)
    for _ in range(low):
        start = _build(nfa, inner, start)
    if high is None:
        loop = nfa.new()
        nfa.eps[start].append(loop)
        nfa.eps[_build(nfa, inner, loop)].append(loop)
        return loop
    assert isinstance(high, int)
    end = nfa.new()
    nfa.eps[start].append(end)
    for _ in range(high - low):
        start = _build(nfa, inner, start)
        nfa.eps[start].append(end)
    return end


@functools.cache
def first_digits(pattern: str) -> int | None:
    """The digits (a bit set) a match of `pattern` can start with; None if it can be empty."""
    nfa = _Nfa([], [])
    start = nfa.new()
    end = _build(nfa, _Parser(pattern).parse(), start)
    seen = {start}
    stack = [start]
    while stack:
        for target in nfa.eps[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    if end in seen:
        return None
    bits = 0
    for state in seen:
        for move, _ in nfa.moves[state]:
            bits |= move
    return bits


# -- the decision for one calling code ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tag:
    """An accepting NFA state: which region, which pattern, and the lengths it allows."""

    region: int
    kind: str  # "general", "type" or "leading"
    lengths: frozenset[int]  # empty: any length


@dataclass(frozen=True, slots=True)
class ValidityDfa:
    """A calling code's is_valid_number over NSN digits: table[state * 10 + digit]."""

    table: npt.NDArray[np.int32]
    valid: npt.NDArray[np.bool_]  # by final state
    start: int
    moves: npt.NDArray[np.int64] = field(init=False)  # table * 10: the next state's row

    def __post_init__(self) -> None:
        object.__setattr__(self, "moves", self.table.astype(np.int64) * 10)

    def decide(self, nsn: npt.NDArray[np.uint64], lengths: npt.NDArray[np.int64]) -> Mask:
        """is_valid_number for NSNs given as integers and their digit counts (<= 17)."""
        compiled = kernels.compiled()
        if compiled is not None:
            out = np.empty(nsn.size, np.uint8)
            nsn, lengths = np.ascontiguousarray(nsn), np.ascontiguousarray(lengths)
            compiled.walk(self.moves, self.valid, self.start, nsn, lengths, out)
            return out.view(bool)
        result = np.zeros(nsn.size, bool)
        for length in np.unique(lengths).tolist():
            rows = np.flatnonzero(lengths == length)
            if length == 0:
                result[rows] = self.valid[self.start]
                continue
            left = nsn[rows].astype(np.int64)  # at most 17 digits: int64 holds it
            digits = np.empty((length, rows.size), np.int64)
            for place in range(length - 1, -1, -1):
                digits[place] = left % 10
                left //= 10
            at = np.full(rows.size, self.start * 10, np.int64)
            for place in range(length):
                at = self.moves[at + digits[place]]
            result[rows] = self.valid[at // 10]
        return result


Mask = npt.NDArray[np.bool_]
_TABLES = Path(__file__).with_name("validity.npz")


@dataclass(frozen=True, slots=True)
class _Shipped:
    """The shipped tables: every code's DFA table and final states, cut from a few arrays."""

    tables: dict[str, npt.NDArray[np.generic]]

    def dfa(self, kind: str, calling_code: int) -> ValidityDfa | None:
        """The `kind` ("t": validity, "g": general pattern) DFA of a code, if shipped."""
        codes = self.tables[f"{kind}_codes"]
        at = int(np.searchsorted(codes, calling_code))
        if at >= codes.size or codes[at] != calling_code:
            return None
        moves, states = self.tables[f"{kind}_moves"], self.tables[f"{kind}_states"]
        move_at, state_at = self.tables[f"{kind}_move_at"], self.tables[f"{kind}_state_at"]
        table = moves[move_at[at] : move_at[at + 1]].astype(np.int32)
        return ValidityDfa(table, states[state_at[at] : state_at[at + 1]].astype(bool), 1)


Facts = tuple[tuple[int, ...], str | None, bool]


def main_region_facts(calling_code: int) -> Facts | None:
    """What the fast path reads of a code's main region, without loading its metadata:
    _test_number_length's answer for NSN lengths 0..20, the national prefix for parsing,
    and whether a transform rule exists. Shipped with the tables, else read afresh."""
    shipped = _shipped()
    if shipped is not None:
        codes = shipped.tables["f_codes"]
        at = int(np.searchsorted(codes, calling_code))
        if at < codes.size and codes[at] == calling_code:
            prefix = str(shipped.tables["f_prefix"][at])
            lengths = tuple(int(v) for v in shipped.tables["f_length"][at])
            return lengths, prefix or None, bool(shipped.tables["f_transform"][at])
    return _facts(calling_code)


def _main_metadata(calling_code: int) -> PhoneMetadata | None:
    """The metadata of the calling code's main region (its first), if any."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code, ())
    if not regions:
        return None
    return PhoneMetadata.metadata_for_region_or_calling_code(calling_code, regions[0])


def _facts(calling_code: int) -> Facts | None:
    metadata = _main_metadata(calling_code)
    if metadata is None:
        return None
    lengths = tuple(_test_number_length("0" * n, metadata) for n in range(21))
    prefix = metadata.national_prefix_for_parsing or None
    return lengths, prefix, bool(metadata.national_prefix_transform_rule)


@functools.cache
def _shipped() -> _Shipped | None:
    """Tables compiled for the pinned phonenumbers version and shipped with the package.

    A handful of arrays (every code's tables end to end, and where each starts): reading
    them takes milliseconds, where one archive member per code took 60 ms at start-up.
    """
    try:
        with np.load(_TABLES) as archive:
            tables = {name: archive[name] for name in archive.files}
    except (OSError, ValueError):
        return None
    if str(tables.get("version")) != phonenumbers.__version__ or "f_codes" not in tables:
        return None  # compiled for another metadata release: compile afresh
    return _Shipped(tables)


def _lengths(desc: object) -> frozenset[int]:
    return frozenset(getattr(desc, "possible_length", ()) or ())


@functools.cache
def validity_dfa(calling_code: int) -> ValidityDfa | None:
    """The compiled decision for a calling code, or None when a pattern is unsupported."""
    shipped = _shipped()
    found = None if shipped is None else shipped.dfa("t", calling_code)
    if found is not None:
        return found
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code, ())
    try:
        return _compile(calling_code, regions)
    except Unsupported:
        return None


def _compile(calling_code: int, regions: Sequence[str]) -> ValidityDfa | None:
    nfa = _Nfa([], [])
    start = nfa.new()
    tags: dict[int, _Tag] = {}
    leading: list[bool] = []
    for index, code in enumerate(regions):
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, code)
        if metadata is None:
            leading.append(False)
            continue
        patterns: list[tuple[str, str, frozenset[int]]] = []
        general = metadata.general_desc
        if general is not None and general.national_number_pattern:
            patterns.append(("general", general.national_number_pattern, _lengths(general)))
        for name in _TYPES:
            desc = getattr(metadata, name)
            if desc is not None and desc.national_number_pattern:
                patterns.append(("type", desc.national_number_pattern, _lengths(desc)))
        has_leading = metadata.leading_digits is not None
        leading.append(has_leading)
        if has_leading:
            patterns.append(("leading", f"(?:{metadata.leading_digits})\\d*", frozenset()))
        for kind, pattern, lengths in patterns:
            entry = nfa.new()
            nfa.eps[start].append(entry)
            end = _build(nfa, _Parser(pattern).parse(), entry)
            tags[end] = _Tag(index, kind, lengths)
    return _determinize(nfa, start, tags, leading)


@functools.cache
def pattern_dfa(pattern: str) -> ValidityDfa:
    """A full match of one pattern over digits, any length up to 17 (Unsupported if not)."""
    nfa = _Nfa([], [])
    start = nfa.new()
    end = _build(nfa, _Parser(pattern).parse(), start)
    return _determinize(nfa, start, {end: _Tag(0, "general", frozenset())}, [], whole=True)


@functools.cache
def general_dfa(calling_code: int) -> ValidityDfa | None:
    """A full match of the general pattern of the code's main region (None if unsupported)."""
    shipped = _shipped()
    found = None if shipped is None else shipped.dfa("g", calling_code)
    return found if found is not None else _general(calling_code)


def _general(calling_code: int) -> ValidityDfa | None:
    metadata = _main_metadata(calling_code)
    general = None if metadata is None else metadata.general_desc
    if general is None or not general.national_number_pattern:
        return None
    try:
        return pattern_dfa(general.national_number_pattern)
    except Unsupported:
        return None


def _determinize(
    nfa: _Nfa, start: int, tags: dict[int, _Tag], leading: list[bool], *, whole: bool = False
) -> ValidityDfa:
    # A DFA state is the set of NFA states that read a digit or accept, plus the length read.
    kept = [bool(nfa.moves[state]) or state in tags for state in range(len(nfa.eps))]
    steps = [
        [
            tuple(target for bits, target in nfa.moves[state] if bits >> digit & 1)
            for digit in range(10)
        ]
        for state in range(len(nfa.eps))
    ]
    closure_cache: dict[frozenset[int], frozenset[int]] = {}

    def closure(states: frozenset[int]) -> frozenset[int]:
        found = closure_cache.get(states)
        if found is None:
            seen = set(states)
            stack = list(states)
            while stack:
                for target in nfa.eps[stack.pop()]:
                    if target not in seen:
                        seen.add(target)
                        stack.append(target)
            found = closure_cache[states] = frozenset(state for state in seen if kept[state])
        return found

    dead: tuple[frozenset[int], int] = (frozenset(), 0)
    first = (closure(frozenset((start,))), 0)
    ids: dict[tuple[frozenset[int], int], int] = {dead: 0, first: 1}
    order = [dead, first]
    rows: list[list[int]] = [[0] * 10]
    cursor = 1
    while cursor < len(order):
        states, length = order[cursor]
        row = []
        for digit in range(10):
            targets = frozenset(t for state in states for t in steps[state][digit])
            if not targets or length >= MAX_NSN:
                row.append(0)
                continue
            key = (closure(targets), length + 1)
            found = ids.get(key)
            if found is None:
                found = ids[key] = len(order)
                order.append(key)
                if len(order) > _MAX_STATES:
                    raise Unsupported("too many states")
            row.append(found)
        rows.append(row)
        cursor += 1
    if whole:  # one pattern: accept where its end is reached
        valid = np.array([any(state in tags for state in states) for states, _ in order])
    else:
        valid = np.array([_decision(states, length, tags, leading) for states, length in order])
    return ValidityDfa(np.array(rows, np.int32).reshape(-1), valid, 1)


def _decision(
    states: frozenset[int], length: int, tags: dict[int, _Tag], leading: list[bool]
) -> bool:
    """phonenumbers' region choice and verdict, given which patterns accept the whole NSN."""
    matched: set[tuple[int, str]] = set()
    for state in states:
        tag = tags.get(state)
        if tag is not None and (not tag.lengths or length in tag.lengths):
            matched.add((tag.region, tag.kind))

    def type_valid(region: int) -> bool:
        return (region, "general") in matched and (region, "type") in matched

    for region, has_leading in enumerate(leading):
        if has_leading:
            if (region, "leading") in matched:
                return type_valid(region)
        elif type_valid(region):
            return True
    return False


def write_tables(path: Path = _TABLES) -> int:
    """Compile every calling code's decision and save the tables (run after a metadata bump)."""
    found: dict[str, dict[int, ValidityDfa]] = {"t": {}, "g": {}}
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        compiled = _compile(code, phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code])
        if compiled is not None:
            found["t"][code] = compiled
        general = _general(code)
        if general is not None:
            found["g"][code] = general
    tables: dict[str, npt.NDArray[np.generic]] = {"version": np.array(phonenumbers.__version__)}
    facts = {code: _facts(code) for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)}
    known = {code: fact for code, fact in facts.items() if fact is not None}
    tables["f_codes"] = np.array(sorted(known), np.int64)
    tables["f_length"] = np.array([known[code][0] for code in sorted(known)], np.int8)
    tables["f_prefix"] = np.array([known[code][1] or "" for code in sorted(known)], str)
    tables["f_transform"] = np.array([known[code][2] for code in sorted(known)], bool)
    for kind, dfas in found.items():
        codes = sorted(dfas)
        tables[f"{kind}_codes"] = np.array(codes, np.int64)
        tables[f"{kind}_moves"] = np.concatenate([dfas[code].table for code in codes])
        tables[f"{kind}_states"] = np.concatenate([dfas[code].valid for code in codes])
        for name, sizes in (
            ("move_at", [dfas[code].table.size for code in codes]),
            ("state_at", [dfas[code].valid.size for code in codes]),
        ):
            tables[f"{kind}_{name}"] = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    with path.open("wb") as out:
        np.savez_compressed(out, **tables)  # type: ignore[arg-type]
    return len(found["t"])


if __name__ == "__main__":  # python -m dncsync.columnar.digitdfa
    print(f"{write_tables()} calling codes written to {_TABLES}", file=sys.stderr)
