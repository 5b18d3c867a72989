"""The outsider's attack on Haven's published figures of placements.

The attacker has every file of every release, every public API answer the test fetched, the
district population and the schemas, and knows the method (docs/disclosure.md) and that a
withheld count is at least 1. Run by tests/disclosure.rs; reads a work folder:

  releases/vN/         every release folder, as downloaded
  population.csv       the public population file
  api/                 public API answers (status.json, scenario.json, catalogue.jsonld,
                       lq-<period>.json, tiles/*.json decoded by this script's caller)
  oracle.csv           the true values behind each release (judging only, never solved with)
  register.json        the register's size and household mix (judging only)

Attacks:
  lp        every published relation of one release, and of consecutive releases, solved at
            once with HiGHS (districts against the municipality, households against persons,
            every district's monthly flows against the year's published starts and ends,
            programmes against starts, exits to autonomy against exits), every withheld cell
            minimised and maximised; in integers where the linear interval is close
  indices   the published segregation indices and location quotients of persons placed
            inverted with the population by exhaustive search
  metadata  status, scenario, catalogue, data package and tiles read for register counts
  forecast  the public needs forecast held against the release: every month of its history
            must be a published figure (no withheld or unpublished month), its household mix
            not the register's and its places the scenario's; all else it holds is computed
            from that history, so the lp attack above already has everything it says
  report    the council report (its HTML page: the same text as its PDF) read as an outsider
            reads it: the households and persons placed it shows must be the release's own
            cells (withheld where the release withholds), and no number in it may be the
            register's size

With --region DIR, the region's readers are attacked: DIR/municipalities/CODE/ is each
municipality's work folder as above, DIR/answers/ what the readers served (region.json,
map.geojson, spread.json, m/CODE.json, m/CODE/*.csv). Every municipality's releases get the
attacks above; then

  regional figures  every figure of persons or households placed in the overview, the map, a
            municipality's view and the CSVs the readers serve must be its release's own cell,
            withheld where the release withholds it (else it is a relation the lp never saw)
  regional csv  every row and value of the indicators, placements, years and indices the
            readers serve as CSV must be the release's own
  spread    the location quotients turned back into counts (share = LQ · d / Σd, scaled by
            any published count): every count recovered must be published; the index of
            dissimilarity must be the one the shares give

Prints a JSON report; exits 1 when it finds a disclosure (with --expect-disclosure, exits 1
when it finds none: the self-test that the attack can fail).
"""

import argparse
import csv
import json
import math
import os
import sys
import tempfile
from collections import defaultdict

import highspy
import numpy as np

PROGRAMMES = [
    "public_reception",
    "community_sponsorship",
    "humanitarian_corridor",
    "social_housing",
    "private_rental_incentive",
    "other",
]
HH, PP = "households", "persons"
HOUSED, LET, SUSTAINED = "households_housed_in_register_homes", "register_homes_let", "tenancies_sustained"
ACTIVATION = (HOUSED, LET, SUSTAINED)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def num(x):
    return None if x in ("", None) else float(x)


class Release:
    """What one release publishes of placements: value, or None where withheld."""

    def __init__(self, folder, version):
        self.version = version
        self.cells = {}  # (kind, area, period) -> value or None
        self.districts = set()
        self.months = set()
        for r in read_csv(os.path.join(folder, "placements.csv")):
            area = r["area_code"] if r["level"] == "district" else ""
            if area:
                self.districts.add(area)
            self.months.add(r["period"])
            self.cells[(HH, area, r["period"])] = num(r["placements_active_households"])
            self.cells[(PP, area, r["period"])] = num(r["placements_active_persons"])
        self.months = sorted(self.months)
        self.districts = sorted(self.districts)
        self.years = []
        for r in read_csv(os.path.join(folder, "placements-years.csv")):
            y = r["year"]
            self.years.append(y)
            self.cells[("placements_started", "", y)] = num(r["placements_started"])
            self.cells[("placements_ended", "", y)] = num(r["placements_ended"])
            for p in PROGRAMMES:
                self.cells[(f"placements_started_{p}", "", y)] = num(r[f"placements_started_{p}"])
            # The end of the activation pipeline (absent from releases made before it was
            # published: withheld there).
            for kind in ACTIVATION:
                self.cells[(kind, "", y)] = num(r.get(kind))
            share, ended = num(r["placements_exit_autonomy_share"]), num(r["placements_ended"])
            auto = round(share * ended) if share is not None and ended is not None else None
            self.cells[("placements_ended_autonomy", "", y)] = auto
        seg = os.path.join(folder, "segregation.csv")
        self.indices = defaultdict(dict)
        for r in read_csv(seg):
            if r["group"] == "placed_persons" and r["value"] != "":
                self.indices[r["period"]][r["index"]] = float(r["value"])


def read_oracle(path, districts):
    """version -> (kind, area, period) -> true value. The ledger names the municipality on
    its rows; the releases leave the area of municipal rows and year figures empty."""
    out = defaultdict(dict)
    for r in read_csv(path):
        area = r["area"] if r["area"] in districts else ""
        out[int(r["version"])][(r["kind"], area, r["period"])] = int(r["value"])
    return out


class Model:
    """Variables with bounds and rows, solved with HiGHS."""

    def __init__(self):
        self.lb, self.ub = [], []
        self.rows = []  # (dict var->coef, lo, hi)

    def var(self, lo=0.0, hi=math.inf):
        self.lb.append(lo)
        self.ub.append(hi)
        return len(self.lb) - 1

    def row(self, terms, lo, hi):
        coefs = defaultdict(float)
        const = 0.0
        for t, c in terms:
            if isinstance(t, tuple):  # ("v", index)
                coefs[t[1]] += c
            else:
                const += c * t
        coefs = {k: v for k, v in coefs.items() if v != 0}
        if not coefs:
            ok = (lo - 1e-6 <= const) and (const <= hi + 1e-6)
            if not ok:
                raise ValueError(f"a relation without unknowns does not hold: {const} in [{lo}, {hi}]")
            return
        self.rows.append((coefs, lo - const, hi - const))

    def solver(self):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        # Only objectives change between solves: the primal simplex restarts from the last
        # basis, which stays feasible (about 15 times faster here than the default dual).
        h.setOptionValue("simplex_strategy", 4)
        n = len(self.lb)
        h.addVars(n, np.array(self.lb, dtype=float), np.array([min(u, 1e30) for u in self.ub], dtype=float))
        lower, upper, starts, index, value = [], [], [], [], []
        for coefs, lo, hi in self.rows:
            starts.append(len(index))
            lower.append(max(lo, -1e30))
            upper.append(min(hi, 1e30))
            for k, v in coefs.items():
                index.append(k)
                value.append(v)
        h.addRows(
            len(lower),
            np.array(lower, dtype=float),
            np.array(upper, dtype=float),
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value, dtype=float),
        )
        return h


MIP_SECONDS = 3.0
INTEGER = highspy.HighsVarType.kInteger
CONTINUOUS = highspy.HighsVarType.kContinuous


class Seen:
    """What the attacker has seen of every withheld cell over the tables it found: each table
    satisfies every published relation, so each is a table it cannot rule out. `low`/`high`
    over every table; `ilow`/`ihigh` over the integral ones only."""

    def __init__(self, cells):
        self.cells = cells
        self.low = np.full(len(cells), np.inf)
        self.high = np.full(len(cells), -np.inf)
        self.ilow = np.full(len(cells), np.inf)
        self.ihigh = np.full(len(cells), -np.inf)

    def add(self, x):
        y = x[self.cells]
        np.minimum(self.low, y, out=self.low)
        np.maximum(self.high, y, out=self.high)
        if np.all(np.abs(x - np.round(x)) < 1e-6):
            np.minimum(self.ilow, y, out=self.ilow)
            np.maximum(self.ihigh, y, out=self.ihigh)


def set_integer(h, n, on):
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.array([INTEGER if on else CONTINUOUS] * n))
    h.setOptionValue("time_limit", MIP_SECONDS if on else math.inf)
    # Presolve helps the integer solver much; the linear solves restart from a basis instead.
    h.setOptionValue("presolve", "on" if on else "off")


def optimum(h, var, sense, n, integer=False, seen=None):
    """The least or greatest value of one unknown. In integers (`integer=True`) it is what the
    attacker can prove: the optimum, or the solver's bound when it runs out of its time
    (MIP_SECONDS). Every optimal table found goes to `seen`."""
    h.changeColCost(var, 1.0)
    h.changeObjectiveSense(sense)
    if integer:
        set_integer(h, n, True)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    value = info.objective_function_value
    if status == highspy.HighsModelStatus.kOptimal and seen is not None:
        seen.add(np.array(h.getSolution().col_value))
    if integer:
        if status == highspy.HighsModelStatus.kTimeLimit:
            status, value = highspy.HighsModelStatus.kOptimal, info.mip_dual_bound
        set_integer(h, n, False)
    h.changeColCost(var, 0.0)
    if status == highspy.HighsModelStatus.kOptimal:
        return value
    if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return math.inf if sense == highspy.ObjSense.kMaximize else -math.inf
    raise RuntimeError(f"the solver answered {h.modelStatusToString(status)}")


def integer_table(h, var, value, n, lb, ub, seen):
    """Whether an integer table has the unknown at `value`: True, False, or None when the
    solver runs out of its time. A table found goes to `seen`."""
    h.changeColBounds(var, value, value)
    set_integer(h, n, True)
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        seen.add(np.array(h.getSolution().col_value))
    set_integer(h, n, False)
    h.changeColBounds(var, lb, min(ub, 1e30))
    if status == highspy.HighsModelStatus.kOptimal:
        return True
    if status == highspy.HighsModelStatus.kInfeasible:
        return False
    return None


def build(releases, oracle, smax):
    """The attacker's model over the given releases: one unknown per withheld cell and true
    value (a cell with the same value in two releases is one unknown: the attacker is told
    which cells changed, the worst case), explicit flows for every district and month of a
    published year."""
    m = Model()
    shared = {}  # (kind, area, period, true value) -> term
    withheld = {}  # var -> (version, key)

    def term(rel, key):
        value = rel.cells.get(key)
        truth = oracle[rel.version].get(key)
        if value is not None:
            ident = (*key, truth if truth is not None else value)
            shared.setdefault(ident, value)
            known = shared[ident]
            if isinstance(known, tuple):
                # Published now with the value an earlier release withheld: that unknown is known.
                m.lb[known[1]] = m.ub[known[1]] = value
            return value
        ident = (*key, truth)
        if ident not in shared:
            # Exits to autonomy may be 0 when withheld; so may a count of the activation
            # pipeline withheld with the count it nests in (the attacker is told which).
            nested = key[0] in ACTIVATION and not truth
            low = 0.0 if key[0] == "placements_ended_autonomy" or nested else 1.0
            v = m.var(low)
            shared[ident] = ("v", v)
            withheld[v] = (rel.version, key)
        t = shared[ident]
        return t

    for rel in releases:
        T = lambda k, a, p: term(rel, (k, a, p))  # noqa: E731
        for per in rel.months:
            for kind in (HH, PP):
                rhs = T(kind, "", per)
                m.row([(T(kind, d, per), 1.0) for d in rel.districts] + [(rhs, -1.0)], 0, 0)
            for area in rel.districts + [""]:
                h, p = T(HH, area, per), T(PP, area, per)
                m.row([(p, 1.0), (h, -1.0)], 0, math.inf)
                m.row([(p, 1.0), (h, -smax)], -math.inf, 0)
        index = {per: i for i, per in enumerate(rel.months)}
        for y in rel.years:
            months = [p for p in rel.months if p.startswith(y + "-")]
            s_terms, e_terms = [], []
            for d in rel.districts:
                for per in months:
                    i = index[per]
                    if i == 0:
                        continue
                    prev = rel.months[i - 1]
                    # Started and ended households; their persons (each household 1 to smax)
                    # must account for the change of persons: ΔP = SP − EP with SP in
                    # [S, smax·S] and EP in [E, smax·E], i.e. S − smax·E ≤ ΔP ≤ smax·S − E.
                    s, e = m.var(), m.var()
                    s_t, e_t = ("v", s), ("v", e)
                    dh = [(T(HH, d, per), 1.0), (T(HH, d, prev), -1.0)]
                    dp = [(T(PP, d, per), 1.0), (T(PP, d, prev), -1.0)]
                    m.row(dh + [(s_t, -1.0), (e_t, 1.0)], 0, 0)
                    m.row(dp + [(s_t, -1.0), (e_t, smax)], 0, math.inf)
                    m.row(dp + [(s_t, -smax), (e_t, 1.0)], -math.inf, 0)
                    s_terms.append((s_t, 1.0))
                    e_terms.append((e_t, 1.0))
            started, ended = T("placements_started", "", y), T("placements_ended", "", y)
            m.row(s_terms + [(started, -1.0)], 0, 0)
            m.row(e_terms + [(ended, -1.0)], 0, 0)
            m.row([(T(f"placements_started_{p}", "", y), 1.0) for p in PROGRAMMES] + [(started, -1.0)], 0, 0)
            m.row([(ended, 1.0), (T("placements_ended_autonomy", "", y), -1.0)], 0, math.inf)
            # Homes let for the first time ≤ households housed in register homes ≤ started.
            housed, let = T(HOUSED, "", y), T(LET, "", y)
            m.row([(let, 1.0), (housed, -1.0)], -math.inf, 0)
            m.row([(housed, 1.0), (started, -1.0)], -math.inf, 0)
            # A tenancy sustained in the year (182 days) started in it or was active at the
            # end of the year before: at most the starts and December's households; and at most
            # the households housed in the year and the one before, where both are published.
            sustained = T(SUSTAINED, "", y)
            december = f"{int(y) - 1}-12"
            if december in index:
                m.row([(sustained, 1.0), (started, -1.0), (T(HH, "", december), -1.0)], -math.inf, 0)
            before = str(int(y) - 1)
            if before in rel.years:
                m.row([(sustained, 1.0), (housed, -1.0), (T(HOUSED, "", before), -1.0)], -math.inf, 0)
    return m, withheld


def lp_attack(releases, oracle, protection, smax, label, directions=60, seed=1, enough=None):
    """Every withheld cell's interval over the model. Solutions for random objectives first:
    each is a table the attacker cannot rule out, so a cell whose values across them already
    spread over the protection level is not narrow. Every other cell is minimised and maximised
    exactly (in integers where the linear interval is close)."""
    m, withheld = build(releases, oracle, smax)
    h = m.solver()
    n = len(m.lb)
    cells = np.array(sorted(withheld), dtype=np.int32)
    seen = Seen(cells)
    # The true table is an integer table the attacker cannot rule out (it is the one to find).
    for j, v in enumerate(cells.tolist()):
        version, key = withheld[v]
        truth = oracle[version].get(key)
        if truth is not None:
            seen.ilow[j] = seen.ihigh[j] = truth
    rng = np.random.default_rng(seed)
    everything = np.arange(n, dtype=np.int32)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    for _ in range(directions if len(cells) else 0):
        c = np.zeros(n)
        c[cells] = rng.choice([-1.0, 1.0], size=len(cells)) * rng.random(len(cells))
        h.changeColsCost(n, everything, c)
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            seen.add(np.array(h.getSolution().col_value))
    h.changeColsCost(n, everything, np.zeros(n))
    findings, exact, integer, undecided = [], 0, 0, 0
    for j, v in enumerate(cells.tolist()):
        if enough is not None and len(findings) >= enough:
            break
        if seen.high[j] - seen.low[j] >= protection + 1 or seen.ihigh[j] - seen.ilow[j] >= protection:
            continue
        exact += 1
        version, key = withheld[v]
        lo = optimum(h, v, highspy.ObjSense.kMinimize, n, seen=seen)
        if seen.high[j] - lo >= protection + 1:
            continue
        hi = optimum(h, v, highspy.ObjSense.kMaximize, n, seen=seen)
        if protection - 1e-6 <= hi - lo < protection + 1 - 1e-6 and seen.ihigh[j] - seen.ilow[j] < protection:
            # Close: in integers the interval may be narrower. It is [ceil(lo), floor(hi)]
            # when an integer table reaches each end; where none does, the integer optimum.
            ends = [(math.ceil(lo - 1e-6), seen.ilow[j], highspy.ObjSense.kMinimize),
                    (math.floor(hi + 1e-6), seen.ihigh[j], highspy.ObjSense.kMaximize)]
            integer += 1
            bounds = []
            for end, reached, sense in ends:
                if reached == end:
                    bounds.append(end)
                    continue
                ok = integer_table(h, v, end, n, m.lb[v], m.ub[v], seen)
                if ok is None:
                    undecided += 1
                if ok is False:
                    bounds.append(optimum(h, v, sense, n, integer=True))
                else:
                    bounds.append(end)
            lo = math.ceil(bounds[0] - 1e-6)
            hi = math.floor(bounds[1] + 1e-6)
        truth = oracle[version].get(key)
        if hi - lo < protection - 1e-6:
            findings.append({
                "attack": f"lp {label}",
                "release": version,
                "cell": list(key),
                "interval": [lo, hi],
                "true": truth,
            })
    return findings, {"cells": len(cells), "solved exactly": exact, "checked in integers": integer,
                      "integer checks out of time": undecided, "unknowns": n, "rows": len(m.rows)}


def population(path):
    """period -> district -> total persons."""
    out = defaultdict(dict)
    for r in read_csv(path):
        if r["group"] == "total":
            out[r["period"]][r["district_code"]] = out[r["period"]].get(r["district_code"], 0) + float(r["persons"])
    return out


def entropy_of(p):
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -(np.where(p > 0, p * np.log(p), 0.0) + np.where(p < 1, (1 - p) * np.log(1 - p), 0.0))
    return e


def terms(index, k, t, X, T):
    """A separable index's term for district count(s) k in a district of t residents."""
    P = X / T
    if index == "dissimilarity":
        return np.abs(k - t * P) / (2 * T * P * (1 - P))
    if index == "isolation":
        return k * k / (X * t)
    if index == "entropy":
        E = entropy_of(P)
        return t * (E - entropy_of(k / t)) / (E * T)
    raise KeyError(index)


SEPARABLE = ("dissimilarity", "isolation", "entropy")


def indices(x, t):
    """PySAL's definitions (DOMAIN.md) of the separable indices inverted here."""
    x, t = np.asarray(x, float), np.asarray(t, float)
    X, T = x.sum(), t.sum()
    return {i: float(terms(i, x, t, X, T)[t > 0].sum()) for i in SEPARABLE}


def fill(x, total, t):
    """The documented rule: the published total less the published districts, shared among the
    withheld districts in proportion to their population."""
    known = sum(v for v in x if v is not None)
    rest = max(total - known, 0.0)
    weight = sum(ti for v, ti in zip(x, t) if v is None)
    hidden = sum(1 for v in x if v is None)
    return [v if v is not None else (rest * ti / weight if weight > 0 else rest / hidden) for v, ti in zip(x, t)]


def index_attack(rel, pop, oracle, protection, max_binaries=600, enough=None):
    """Inverts each period's published indices of persons placed with an integer program: one
    binary per withheld district and possible count, the counts adding up to the published
    remainder, and every separable index (D, isolation, entropy) reproduced to its published
    precision. Where tables fit, each withheld count is minimised and maximised."""
    findings, solved, consistent, beyond, too_large = [], 0, 0, 0, 0
    for period, published in sorted(rel.indices.items()):
        if enough is not None and len(findings) >= enough:
            break
        end = period + "-12" if len(period) == 4 else period
        if end not in rel.months or period not in pop:
            continue
        total = rel.cells.get((PP, "", end))
        if total is None:
            continue
        t = np.array([pop[period].get(d, 0.0) for d in rel.districts])
        x = [rel.cells.get((PP, d, end)) for d in rel.districts]
        hidden = [i for i, v in enumerate(x) if v is None]
        if not hidden:
            continue
        rest = int(round(total - sum(v for v in x if v is not None)))
        if rest < len(hidden):
            continue
        # The method is public: indices computed from the published counts (the withheld ones
        # filled by the documented rule) say nothing the counts do not. Any other index is
        # information about the withheld counts.
        filled = fill(x, total, t)
        again = indices(filled, t)
        if any(abs(again[n] - published[n]) > 1e-9 * max(1.0, abs(published[n])) for n in again if n in published):
            beyond += 1
            findings.append({
                "attack": "indices",
                "release": rel.version,
                "period": period,
                "what": "the indices of persons placed are not those of the published counts",
            })
        top = rest - len(hidden) + 1
        if len(hidden) * top > max_binaries:
            too_large += 1
            continue
        ks = np.arange(1, top + 1, dtype=float)
        X, T = float(total), float(t.sum())
        known = [i for i in range(len(x)) if x[i] is not None and t[i] > 0]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("time_limit", 20.0)
        nb = len(hidden) * top
        h.addVars(nb, np.zeros(nb), np.ones(nb))
        h.changeColsIntegrality(nb, np.arange(nb, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * nb))
        col = lambda j, k: j * top + (k - 1)  # noqa: E731
        rows = []
        for j in range(len(hidden)):
            rows.append(([col(j, k) for k in range(1, top + 1)], np.ones(top), 1.0, 1.0))
        rows.append(([col(j, k) for j in range(len(hidden)) for k in range(1, top + 1)],
                     np.tile(ks, len(hidden)), rest, rest))
        for name in SEPARABLE:
            if name not in published:
                continue
            base = float(terms(name, np.array([x[i] for i in known], float), t[known], X, T).sum())
            coef = np.concatenate([terms(name, ks, t[i], X, T) for i in hidden])
            # Scaled so that tables one person apart differ by far more than the tolerance.
            scale = 1.0 / max(np.abs(np.diff(coef)).max(initial=0.0) * 1e-3, 1e-300)
            scale = min(scale, 1e9)
            target = (published[name] - base) * scale
            rows.append((list(range(nb)), coef * scale, target - 1e-6, target + 1e-6))
        for idx, val, lo, hi in rows:
            h.addRow(lo, hi, len(idx), np.array(idx, dtype=np.int32), np.array(val, dtype=float))
        h.run()
        solved += 1
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            continue
        consistent += 1
        for j, i in enumerate(hidden):
            cols = np.array([col(j, k) for k in range(1, top + 1)], dtype=np.int32)
            bounds = []
            for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
                h.changeColsCost(nb, np.arange(nb, dtype=np.int32), np.zeros(nb))
                h.changeColsCost(top, cols, ks)
                h.changeObjectiveSense(sense)
                h.run()
                if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                    bounds.append(h.getInfo().objective_function_value)
            if len(bounds) < 2:
                continue
            lo, hi = round(bounds[0]), round(bounds[1])
            if hi - lo < protection:
                findings.append({
                    "attack": "indices",
                    "release": rel.version,
                    "cell": [PP, rel.districts[i], end],
                    "interval": [lo, hi],
                    "true": oracle[rel.version].get((PP, rel.districts[i], end)),
                })
    return findings, {
        "periods solved": solved,
        "with an integer table reproducing them": consistent,
        "too large to solve": too_large,
        "indices beyond the published counts": beyond,
    }


def lq_attack(rel, api, pop):
    """Location quotients of persons placed turned back into counts: x = LQ · t · X / T."""
    findings = []
    folder = os.path.join(api, "lq")
    if not os.path.isdir(folder):
        return findings
    for name in sorted(os.listdir(folder)):
        doc = json.load(open(os.path.join(folder, name)))
        period = doc["period"]
        total = rel.cells.get((PP, "", period))
        year_or_month = period if period in pop else period[:4]
        if total is None or year_or_month not in pop:
            continue
        T = sum(pop[year_or_month].values())
        for item in doc["items"]:
            if item["lq"] is None:
                continue
            d = item["district_code"]
            t = pop[year_or_month].get(d, 0.0)
            x = item["lq"] * t * total / T
            if rel.cells.get((PP, d, period)) is None:
                findings.append({"attack": "location quotient", "cell": [PP, d, period], "recovered": round(x)})
    return findings


def metadata_attack(api, register, rel):
    """Status, scenario, catalogue, data package and tiles searched for register counts."""
    findings = []
    size = register["rows"]

    def numbers(doc, path=""):
        if isinstance(doc, dict):
            for k, v in doc.items():
                yield from numbers(v, f"{path}.{k}")
        elif isinstance(doc, list):
            for i, v in enumerate(doc):
                yield from numbers(v, f"{path}[{i}]")
        elif isinstance(doc, (int, float)) and not isinstance(doc, bool):
            yield path, doc

    status = json.load(open(os.path.join(api, "status.json")))
    for d in status["datasets"]:
        if d["privacy"] == "personal" and (d.get("rows") is not None or d.get("last_loaded_at")):
            findings.append({"attack": "status", "dataset": d["name"], "rows": d.get("rows")})
    for name in ("status.json", "catalogue.jsonld", "datapackage.json", "scenario.json", "forecast.json"):
        path = os.path.join(api, name)
        if not os.path.exists(path):
            continue
        for where, value in numbers(json.load(open(path))):
            if value == size and not where.endswith(("inflow", "bytes", "byteSize")):
                findings.append({"attack": "metadata", "file": name, "at": where, "value": value})
    scenario = json.load(open(os.path.join(api, "scenario.json")))
    mix = scenario["params"]["household_mix"]
    register_mix = [[int(s), float(c)] for s, c in register["mix"]]
    if sorted(map(tuple, mix)) == sorted(map(tuple, register_mix)):
        findings.append({"attack": "scenario", "household_mix": "the register's"})
    tiles = os.path.join(api, "districts.mvt")
    if os.path.exists(tiles):
        import mapbox_vector_tile

        latest = rel.months[-1]
        layer = mapbox_vector_tile.decode(open(tiles, "rb").read()).get("districts", {"features": []})
        if not layer["features"]:
            findings.append({"attack": "tiles", "what": "the tile holds no district to check"})
        for f in layer["features"]:
            props = f["properties"]
            code = props.get("district_code")
            for kind, key in ((HH, "placements_active_households"), (PP, "placements_active_persons")):
                published = rel.cells.get((kind, code, latest))
                shown = props.get(key)
                if published is None and shown is not None:
                    findings.append({"attack": "tiles", "cell": [kind, code, latest], "shown": shown})
    return findings


def forecast_attack(api, register, rel):
    """The public forecast read for figures the release does not publish."""
    findings = []
    path = os.path.join(api, "forecast.json")
    if not os.path.exists(path):
        return findings
    f = json.load(open(path))
    series = f["persons_placed"]
    for month, value in series["history"]:
        published = rel.cells.get((PP, "", month))
        if published is None or abs(published - value) > 1e-9:
            findings.append({"attack": "forecast", "cell": [PP, "", month], "shown": value,
                             "published": published})
    last = series["history"][-1]
    if [series["last_month"], series["last_value"]] != last:
        findings.append({"attack": "forecast", "last": [series["last_month"], series["last_value"]]})
    register_mix = [[int(s), float(c)] for s, c in register["mix"]]
    if sorted(map(tuple, f["household_mix"])) == sorted(map(tuple, register_mix)):
        findings.append({"attack": "forecast", "household_mix": "the register's"})
    scenario = os.path.join(api, "scenario.json")
    if os.path.exists(scenario):
        s = json.load(open(scenario))
        places = f["places"]
        if (places["within_30_days"], places["within_90_days"]) != (s["places_30_days"], s["places_90_days"]):
            findings.append({"attack": "forecast", "places": places,
                             "scenario": [s["places_30_days"], s["places_90_days"]]})
    return findings


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def report_attack(api, register, rel):
    """The English council report read for figures the release does not publish."""
    import html
    import re

    findings = []
    path = os.path.join(api, "report.html")
    if not os.path.exists(path):
        return findings
    page = open(path, encoding="utf-8").read()
    titles = {"Households placed": HH, "Persons placed": PP}
    seen = 0
    for row in re.findall(r"<tr>(.*?)</tr>", page):
        cells = [html.unescape(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
        kind = titles.get(cells[0]) if cells else None
        if kind is None or len(cells) < 4:
            continue
        seen += 1
        name, year = cells[3].rsplit(" ", 1)
        period = f"{year}-{MONTHS.index(name) + 1:02d}"
        shown = None if cells[1].startswith("Withheld") else float(cells[1].replace(",", ""))
        if (kind, "", period) not in rel.cells or rel.cells[(kind, "", period)] != shown:
            findings.append({"attack": "report", "cell": [kind, "", period], "shown": cells[1],
                             "published": rel.cells.get((kind, "", period), "not published")})
    if seen != len(titles):
        findings.append({"attack": "report", "what": f"{seen} placement rows found, not {len(titles)}"})
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    for n in re.findall(r"\d[\d,]*", text):
        if int(n.replace(",", "")) == register["rows"]:
            findings.append({"attack": "report", "register size": n})
    return findings


def report_self_test():
    """A hand-made release that withholds the persons placed in the report's month, and a
    report that shows them: the report attack must find it."""
    rel = Release.__new__(Release)
    rel.version, rel.districts, rel.years, rel.months = 0, ["A"], [], ["2026-10"]
    rel.cells, rel.indices = {(HH, "", "2026-10"): 12, (PP, "", "2026-10"): None}, defaultdict(dict)
    row = '<tr><td>{}</td><td class="n">{}</td><td class="n">+1</td><td>October 2026</td><td>Placements</td></tr>'
    page = "<table><tbody>" + row.format("Households placed", "12") + row.format("Persons placed", "31") + "</tbody></table>"
    import tempfile

    with tempfile.TemporaryDirectory() as api:
        open(os.path.join(api, "report.html"), "w", encoding="utf-8").write(page)
        return report_attack(api, {"rows": 999999}, rel)


def forecast_self_test():
    """A hand-made release that withholds the municipality's persons in one month, and a
    forecast whose history shows that month: the forecast attack must find it."""
    rel = Release.__new__(Release)
    rel.version, rel.districts, rel.years = 0, ["A"], []
    rel.months = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    rel.cells, rel.indices = {}, defaultdict(dict)
    for per in rel.months:
        rel.cells[(PP, "", per)] = None if per == "2025-07" else 40
    history = [[m, 40.0] for m in rel.months]
    history[6][1] = 3.0
    import tempfile

    with tempfile.TemporaryDirectory() as api:
        json.dump({"persons_placed": {"history": history, "last_month": "2026-01", "last_value": 40.0},
                   "household_mix": [[1, 1.0]], "places": {}}, open(os.path.join(api, "forecast.json"), "w"))
        return forecast_attack(api, {"mix": [[2, 1]]}, rel)


def unprotected(oracle_cells, rel, pop, k):
    """The self-test's release with the protection off: the true values with only the small
    counts withheld, and indices and location quotients from the true counts."""
    weak = Release.__new__(Release)
    weak.version = rel.version
    weak.districts, weak.months, weak.years = rel.districts, rel.months, rel.years
    weak.cells = {}
    for key in rel.cells:
        v = oracle_cells.get(key)
        small = v is not None and 1 <= v < k
        if key[0] == PP:
            hh = oracle_cells.get((HH, key[1], key[2]))
            small = small or (hh is not None and 1 <= hh < k)
        if key[0] == HH:
            pp = oracle_cells.get((PP, key[1], key[2]))
            small = small or (v is not None and 1 <= v < k) or (pp is not None and 1 <= pp < k)
        weak.cells[key] = None if small else v
    weak.indices = defaultdict(dict)
    for period in rel.indices:
        end = period + "-12" if len(period) == 4 else period
        if end not in rel.months or period not in pop:
            continue
        x = [oracle_cells[(PP, d, end)] for d in rel.districts]
        t = [pop[period].get(d, 0.0) for d in rel.districts]
        if sum(x) > 0:
            weak.indices[period] = indices(x, t)
    return weak


def activation_self_test(protection, smax):
    """A hand-made release whose homes let are small and withheld, nested in 5 households housed
    that are published, of 20 started: only the nesting pins them, to [1, 5]. Shows that the
    attack on the activation figures finds what a release without the nesting would give away."""
    rel = Release.__new__(Release)
    rel.version, rel.districts, rel.years = 0, ["A"], ["2025"]
    rel.months = ["2024-12"] + [f"2025-{m:02d}" for m in range(1, 13)]
    rel.cells, rel.indices = {}, defaultdict(dict)
    for per in rel.months:
        for area in ("A", ""):
            rel.cells[(HH, area, per)], rel.cells[(PP, area, per)] = 20, 40
    year = {"placements_started": 20, "placements_ended": 20, "placements_ended_autonomy": 1,
            HOUSED: 5, LET: None, SUSTAINED: 9}
    for p in PROGRAMMES:
        year[f"placements_started_{p}"] = 20 if p == PROGRAMMES[0] else 0
    for kind, value in year.items():
        rel.cells[(kind, "", "2025")] = value
    oracle = {0: {(LET, "", "2025"): 2}}
    findings, _ = lp_attack([rel], oracle, protection, smax, "activation self-test")
    return [f for f in findings if f["cell"][0] == LET]


# ---- The region: what stateless readers serve of many municipalities from the lake ----

PLACED = {"placements_active_households": HH, "placements_active_persons": PP}
MISSING = object()


def load_municipality(work):
    """A municipality's releases, true values (judging only) and population."""
    folders = sorted(
        (int(n[1:]), os.path.join(work, "releases", n))
        for n in os.listdir(os.path.join(work, "releases"))
        if n.startswith("v")
    )
    releases = [Release(f, v) for v, f in folders]
    oracle = read_oracle(os.path.join(work, "oracle.csv"),
                         {d for rel in releases for d in rel.districts})
    return releases, oracle, population(os.path.join(work, "population.csv"))


def shown_figures(answers, code):
    """Every figure of persons or households placed the readers show of municipality `code`,
    as (where, kind, area, period, value); value None where withheld or empty. Read from the
    region's overview, its map, the municipality's view (its districts too) and the indicators
    the readers serve as CSV."""
    out = []

    def figures(where, area, period, items):
        for ind, kind in PLACED.items():
            if ind in items:
                out.append((where, kind, area, period, items[ind]))

    region = json.load(open(os.path.join(answers, "region.json")))
    for m in region["municipalities"]:
        if m["code"] == code:
            figures("region", "", m["period"], {f["indicator"]: f["value"] for f in m["figures"]})
    for f in json.load(open(os.path.join(answers, "map.geojson")))["features"]:
        if f["properties"]["code"] == code:
            figures("map", "", f["properties"]["period"], f["properties"])
    one = json.load(open(os.path.join(answers, "m", f"{code}.json")))
    m = one["municipality"]
    figures(f"m/{code}", "", m["period"], {f["indicator"]: f["value"] for f in m["figures"]})
    for f in one["districts"]["features"]:
        p = f["properties"]
        figures(f"m/{code} districts", p["district_code"], p["period"], p)
    for r in read_csv(os.path.join(answers, "m", code, "indicators.csv")):
        withheld = set((r.get("withheld") or "").split(","))
        area = r["area_code"] if r["level"] == "district" else ""
        figures(f"m/{code}/data/indicators.csv", area, r["period"],
                {k: None if k in withheld else num(r[k]) for k in PLACED if k in r})
    return out


def figure_attack(code, rel, shown):
    """A figure shown that its release withholds, does not publish, or publishes otherwise
    is a relation the releases' attack never saw."""
    findings = []
    for where, kind, area, period, value in shown:
        if value is None:
            continue
        published = rel.cells.get((kind, area, period), MISSING)
        if published is MISSING or published is None or abs(published - value) > 1e-9:
            findings.append({"attack": "regional figure", "municipality": code, "where": where,
                             "cell": [kind, area, period], "shown": value,
                             "published": "not published" if published is MISSING else published})
    return findings


SERVED = ("indicators", "placements", "placements-years", "segregation")


def served_attack(code, release, answers):
    """The datasets a reader serves of a municipality as CSV, read row by row against the
    release's own files: every row and every value (all columns, not only the headline
    figures) must be the release's, withheld where it withholds; the reader adds only its
    `municipality` and `release` columns."""
    def value(v):
        if v == "":
            return ""
        try:
            return f"{float(v):.12g}"
        except ValueError:
            return v

    findings = []
    for name in SERVED:
        mine = read_csv(os.path.join(release, f"{name}.csv"))
        served = read_csv(os.path.join(answers, "m", code, f"{name}.csv"))
        columns = list(mine[0]) if mine else []
        extra = [c for c in (served[0] if served else {}) if c not in columns]
        if sorted(extra) != ["municipality", "release"] and served:
            findings.append({"attack": "regional csv", "municipality": code, "dataset": name,
                             "columns not in the release": extra})
        rows = defaultdict(int)
        for r in mine:
            rows[tuple(value(r[c]) for c in columns)] += 1
        for r in served:
            key = tuple(value(r.get(c, "")) for c in columns)
            if rows[key] > 0:
                rows[key] -= 1
            else:
                findings.append({"attack": "regional csv", "municipality": code, "dataset": name,
                                 "row not in the release": dict(zip(columns, key))})
        missing = sum(rows.values())
        if missing:
            findings.append({"attack": "regional csv", "municipality": code, "dataset": name,
                             "release rows not served": missing})
        if not mine:
            findings.append({"attack": "regional csv", "municipality": code, "dataset": name,
                             "what": "the release has no rows to check"})
    return findings


def published_shares(code, rel, folder):
    """What a release publishes for the spread: its latest month's persons placed (None where
    withheld) and dwellings of the municipality."""
    period = rel.months[-1]
    dwellings = None
    for r in read_csv(os.path.join(folder, "indicators.csv")):
        if r["level"] == "municipality" and r["period"] == period:
            dwellings = num(r.get("dwellings"))
    return {"period": period, "persons": rel.cells.get((PP, "", period)), "dwellings": dwellings}


def spread_attack(spread, published):
    """The spread inverted. Each counted municipality's share of persons placed is
    LQ · d / Σd over the counted ones; one published count fixes the scale, so every counted
    municipality's persons placed is recovered and must be published. The index of
    dissimilarity must be the one those shares give, or it carries something more."""
    findings = []
    for s in spread["municipalities"]:
        pub = published.get(s["code"])
        if pub is None:
            findings.append({"attack": "spread", "municipality": s["code"], "what": "no release"})
            continue
        if s["persons"] is not None and (pub["persons"] is None or s["period"] != pub["period"]
                                         or abs(s["persons"] - pub["persons"]) > 1e-9):
            findings.append({"attack": "spread", "municipality": s["code"], "shown": s["persons"],
                             "published": pub["persons"]})
        if s["dwellings"] is not None and s["dwellings"] != pub["dwellings"]:
            findings.append({"attack": "spread", "municipality": s["code"],
                             "dwellings": s["dwellings"], "published": pub["dwellings"]})
    counted = [s for s in spread["municipalities"] if s["location_quotient"] is not None]
    if not counted:
        if spread["dissimilarity"] is not None:
            findings.append({"attack": "spread", "what": "an index with no municipality counted"})
        return findings
    base = sum(s["dwellings"] for s in counted)
    share = {s["code"]: s["location_quotient"] * s["dwellings"] / base for s in counted}
    scale = [published[c]["persons"] / x for c, x in share.items()
             if published.get(c) and published[c]["persons"] is not None and x > 0]
    if not scale:
        findings.append({"attack": "spread", "what": "shares of persons placed tied to no published count",
                         "municipalities": sorted(share)})
    else:
        for c, x in share.items():
            recovered = x * scale[0]
            pub = published[c]["persons"]
            if pub is None or abs(pub - recovered) > 1e-6 * max(1.0, recovered):
                findings.append({"attack": "spread", "municipality": c, "recovered": round(recovered, 6),
                                 "published": pub})
    d = 0.5 * sum(abs(share[s["code"]] - s["dwellings"] / base) for s in counted)
    if spread["dissimilarity"] is None or abs(spread["dissimilarity"] - d) > 1e-9:
        findings.append({"attack": "spread", "dissimilarity": spread["dissimilarity"],
                         "from the shares": d})
    return findings


def leaky_spread(towns, published):
    """The self-test's spread with the protection off: every municipality counted with its true
    persons placed, withheld or not."""
    shares, truth = [], {}
    for code, (releases, oracle, _) in towns.items():
        rel = releases[-1]
        period = published[code]["period"]
        truth[code] = oracle[rel.version][(PP, "", period)]
        shares.append({"code": code, "period": period, "persons": None,
                       "dwellings": published[code]["dwellings"], "location_quotient": None})
    p, d = sum(truth.values()), sum(s["dwellings"] for s in shares)
    for s in shares:
        s["location_quotient"] = (truth[s["code"]] / p) / (s["dwellings"] / d)
    dis = 0.5 * sum(abs(truth[s["code"]] / p - s["dwellings"] / d) for s in shares)
    return {"dissimilarity": dis, "municipalities": shares}


def region_self_test(towns, published, base):
    """The regional attacks shown to find what outputs without the protection give away: a
    spread counting every municipality at its true value, a view showing a withheld
    district's true count, and a served CSV holding a withheld count."""
    world = {c: dict(p) for c, p in published.items()}
    codes = sorted(world)
    if all(world[c]["persons"] is None for c in codes):
        # One count published, so the attacker has a scale.
        rel, oracle = towns[codes[0]][0][-1], towns[codes[0]][1]
        world[codes[0]]["persons"] = oracle[rel.version][(PP, "", world[codes[0]]["period"])]
    if all(world[c]["persons"] is not None for c in codes):
        # One count withheld, as the disclosure step might have chosen.
        world[codes[-1]]["persons"] = None
    found = {"spread": spread_attack(leaky_spread(towns, published), world)}
    figures = []
    for code, (releases, oracle, _) in towns.items():
        rel = releases[-1]
        withheld = [k for k, v in rel.cells.items() if v is None and k[0] in (HH, PP) and k[1]]
        if withheld:
            kind, area, period = withheld[0]
            truth = oracle[rel.version][(kind, area, period)]
            figures += figure_attack(code, rel, [("self-test", kind, area, period, truth)])
            break
    found["figures"] = figures
    found["csv"] = []
    for code, (releases, oracle, _) in towns.items():
        rel = releases[-1]
        release = os.path.join(base, code, "releases", f"v{rel.version}")
        with tempfile.TemporaryDirectory() as answers:
            os.makedirs(os.path.join(answers, "m", code))
            leaked = False
            for name in SERVED:
                rows = read_csv(os.path.join(release, f"{name}.csv"))
                for r in rows:
                    r.update(municipality=code, release=rel.version)
                    if name == "placements" and not leaked and r["placements_active_persons"] == "":
                        area = r["area_code"] if r["level"] == "district" else ""
                        r["placements_active_persons"] = oracle[rel.version][(PP, area, r["period"])]
                        leaked = True
                with open(os.path.join(answers, "m", code, f"{name}.csv"), "w", newline="") as f:
                    w = csv.DictWriter(f, fieldnames=list(rows[0]))
                    w.writeheader()
                    w.writerows(rows)
            if leaked:
                found["csv"] = served_attack(code, release, answers)
                break
    return found


def region_main(a):
    """Every municipality's releases attacked as in the municipal suite, then everything the
    region's readers serve (answers/: region.json, map.geojson, spread.json, m/CODE.json and
    m/CODE/*.csv) held against them, and the spread inverted."""
    answers = os.path.join(a.region, "answers")
    base = os.path.join(a.region, "municipalities")
    towns = {c: load_municipality(os.path.join(base, c)) for c in sorted(os.listdir(base))}
    published = {c: published_shares(c, t[0][-1], os.path.join(base, c, "releases", f"v{t[0][-1].version}"))
                 for c, t in towns.items()}
    report = {"municipalities": sorted(towns), "findings": [], "stats": {}}
    if a.expect_disclosure:
        found = region_self_test(towns, published, base)
        report["found"] = {k: len(v) for k, v in found.items()}
        report["findings"] = [f for v in found.values() for f in v]
        print(json.dumps(report, indent=1, default=str)[:20000])
        sys.exit(0 if all(found.values()) else 1)
    for code, (releases, oracle, pop) in towns.items():
        f, s = releases_attack(releases, oracle, pop, a)
        report["findings"] += [dict(x, municipality=code) for x in f]
        report["stats"].update({f"{code} {k}": v for k, v in s.items()})
        shown = shown_figures(answers, code)
        report["stats"][f"{code} figures shown"] = len(shown)
        report["findings"] += figure_attack(code, releases[-1], shown)
        latest = os.path.join(base, code, "releases", f"v{releases[-1].version}")
        report["findings"] += served_attack(code, latest, answers)
    spread = json.load(open(os.path.join(answers, "spread.json")))
    report["stats"]["spread counted"] = sum(s["location_quotient"] is not None for s in spread["municipalities"])
    report["findings"] += spread_attack(spread, published)
    print(json.dumps(report, indent=1, default=str)[:20000])
    sys.exit(1 if report["findings"] else 0)


def releases_attack(releases, oracle, pop, a):
    """Every release's published relations solved at once, its indices inverted, and each two
    consecutive releases solved together."""
    findings, stats = [], {}
    for rel in releases:
        f, s = lp_attack([rel], oracle, a.protection, a.max_household, f"v{rel.version}")
        findings += f
        stats[f"lp v{rel.version}"] = s
        f, s = index_attack(rel, pop, oracle, a.protection)
        findings += f
        stats[f"indices v{rel.version}"] = s
    for before, after in zip(releases, releases[1:]):
        f, s = lp_attack([before, after], oracle, a.protection, a.max_household,
                         f"v{before.version}+v{after.version}")
        findings += f
        stats[f"lp v{before.version}+v{after.version}"] = s
    return findings, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", help="a municipality's work folder")
    ap.add_argument("--region", help="a region's folder: answers/ and municipalities/CODE/")
    ap.add_argument("--protection", type=float, default=5)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--max-household", type=float, default=30)
    ap.add_argument("--expect-disclosure", action="store_true")
    a = ap.parse_args()
    if not (a.work or a.region):
        ap.error("give --work (a municipality) or --region (a region)")
    if a.region:
        region_main(a)
    work = a.work
    releases, oracle, pop = load_municipality(work)
    report = {"releases": [r.version for r in releases], "findings": [], "stats": {}}
    if a.expect_disclosure:
        rel = releases[0]
        weak = unprotected(oracle[rel.version], rel, pop, a.min_count)
        f, s = lp_attack([weak], oracle, a.protection, a.max_household, "unprotected", enough=10)
        report["findings"] += f
        report["stats"]["lp unprotected"] = s
        f, s = index_attack(weak, pop, oracle, a.protection, max_binaries=300, enough=10)
        report["findings"] += f
        report["stats"]["indices unprotected"] = s
        activation = activation_self_test(a.protection, a.max_household)
        report["findings"] += activation
        report["findings"] += forecast_self_test()
        report["findings"] += report_self_test()
        kinds = {x["attack"].split()[0] for x in report["findings"]}
        if activation:
            kinds.add("activation")
        report["found"] = sorted(kinds)
        print(json.dumps(report, indent=1, default=str)[:20000])
        # Every attack must find something the protection would have prevented.
        sys.exit(0 if {"lp", "indices", "activation", "forecast", "report"} <= kinds else 1)
    f, s = releases_attack(releases, oracle, pop, a)
    report["findings"] += f
    report["stats"].update(s)
    api = os.path.join(work, "api")
    if os.path.isdir(api):
        register = json.load(open(os.path.join(work, "register.json")))
        report["findings"] += lq_attack(releases[-1], api, pop)
        report["findings"] += metadata_attack(api, register, releases[-1])
        report["findings"] += forecast_attack(api, register, releases[-1])
        report["findings"] += report_attack(api, register, releases[-1])
    print(json.dumps(report, indent=1, default=str)[:20000])
    sys.exit(1 if report["findings"] else 0)


if __name__ == "__main__":
    main()
