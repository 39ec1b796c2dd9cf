#!/usr/bin/env python3
"""The optimizer benchmark's baselines: Optuna's TPE and CMA-ES samplers and
random search (Optuna's RandomSampler), each calling the same evaluator program
as `orchestra optimize`, the same way: one shell per trial (`sh -c COMMAND`),
`{"variables": ..., "trial": n}` on stdin, one JSON object back.

    python3 bench/optimizer/optuna_compare.py \\
        --evaluator "node bench/optimizer/evaluator.mjs --landscapes FILE" \\
        --functions sphere-5d,drifting --budgets 100,400 --seeds 1,2,3 \\
        [--methods random,tpe,cmaes]

Prints one JSON line per run: function, budget, seed, method, regret, and the
recommendation with its evaluation counts. Regret is judged by the evaluator
itself (`--exact`): noise-free, on the landscape as it is at the end.

Choices made for the baselines, each also printed in the run's `note`:
- A failed evaluation is returned to Optuna as float('nan'): Optuna's FAQ ("How
  are NaNs returned by trials handled?") makes such a trial FAIL without
  aborting the study, and the samplers ignore failed trials.
- The recommendation is `study.best_trial.params`, the best value observed; on
  the drifting landscape, the best among the trials at or after the drift
  trial, which the baselines are told and Orchestra is not.
- CMA-ES handles only float and int variables; Optuna samples categorical and
  bool variables with the sampler's independent sampler (RandomSampler).
"""

import argparse
import json
import subprocess
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)


def sh(command, stdin):
    """Runs a command through the shell, as Orchestra does, and parses its one JSON object."""
    done = subprocess.run(command, shell=True, input=json.dumps(stdin), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def evaluator_for(base, function, budget, seed):
    return f"{base} --function {function} --budget {budget} --seed {seed}"


def suggest(trial, space):
    params = {}
    for name, v in space["variables"].items():
        kind = v["type"]
        if kind == "float":
            params[name] = trial.suggest_float(name, v["min"], v["max"], log=bool(v.get("log")))
        elif kind == "int":
            params[name] = trial.suggest_int(name, v["min"], v["max"], log=bool(v.get("log")))
        elif kind == "categorical":
            params[name] = trial.suggest_categorical(name, v["choices"])
        elif kind == "bool":
            params[name] = trial.suggest_categorical(name, [False, True])
        else:
            raise ValueError(f"unknown variable type {kind!r} for {name}")
    return params


def sampler_for(method, seed):
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if method == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if method == "cmaes":
        # The fallback for categorical and bool variables is reported in each run's note instead.
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    raise ValueError(f"unknown method {method!r}")


def study(command, space, budget, seed, method):
    """One Optuna study of `budget` trials; returns its trials and the count of failed evaluations per trial number."""
    minimize = space["objective"]["direction"] == "minimize"
    failed = set()

    def objective(trial):
        variables = suggest(trial, space)
        result = sh(command, {"variables": variables, "trial": trial.number})
        if not result.get("success") or result.get("value") is None:
            failed.add(trial.number)
            return float("nan")
        return float(result["value"])

    s = optuna.create_study(direction="minimize" if minimize else "maximize", sampler=sampler_for(method, seed))
    s.optimize(objective, n_trials=budget)
    return s.trials, failed


def runs(base, function, budgets, seed, method):
    """
    The runs of one method and seed at every budget. A landscape that does not
    move answers the same whatever the budget (the noise depends on seed and
    trial only), and the samplers do not look at n_trials, so the first b trials
    of the longest study are exactly a study of b trials: one study serves every
    budget. The drifting landscape moves at budget / 2, so it gets one study per budget.
    """
    described = {b: sh(evaluator_for(base, function, b, seed) + " --describe", {}) for b in budgets}
    moves = any(d["driftTrial"] is not None for d in described.values())
    plan = [(b, [b]) for b in budgets] if moves else [(max(budgets), sorted(budgets))]
    for study_budget, served in plan:
        command = evaluator_for(base, function, study_budget, seed)
        space = described[study_budget]["space"]
        started = time.monotonic()
        trials, failed = study(command, space, study_budget, seed, method)
        seconds = time.monotonic() - started
        for budget in served:
            yield result(base, function, budget, seed, method, described[budget], trials[:budget], failed, seconds * budget / study_budget,
                         None if budget == study_budget else study_budget)


def result(base, function, budget, seed, method, described, trials, failed, seconds, prefix_of):
    space = described["space"]
    drift = described["driftTrial"]
    minimize = space["objective"]["direction"] == "minimize"
    notes = []
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if drift is not None:
        complete = [t for t in complete if t.number >= drift]
        notes.append(f"recommendation: best trial at or after the drift (trial {drift})")
    if method == "cmaes":
        other = [n for n, v in space["variables"].items() if v["type"] in ("categorical", "bool")]
        if other:
            notes.append(f"{', '.join(other) if len(other) <= 3 else f'{len(other)} bools'} sampled by RandomSampler (CMA-ES handles only float/int)")
    if prefix_of is not None:
        notes.append(f"first {budget} trials of the {prefix_of}-trial study")
    best = None
    regret = None
    if complete:
        # study.best_trial over the trials that count (all of them, but for the drift and prefix cuts).
        chosen = (min if minimize else max)(complete, key=lambda t: t.value)
        best = {"variables": chosen.params, "value": chosen.value, "trial": chosen.number}
        regret = sh(evaluator_for(base, function, budget, seed) + " --exact", {"variables": chosen.params})["regret"]
    return {
        "function": function,
        "budget": budget,
        "seed": seed,
        "method": method,
        "regret": regret,
        "best": best,
        "evaluations": len(trials),
        "failures": sum(1 for t in trials if t.number in failed),
        "seconds": round(seconds, 2),
        "note": "; ".join(notes),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluator", required=True, help="the evaluator command, without --function/--budget/--seed")
    parser.add_argument("--functions", required=True)
    parser.add_argument("--budgets", required=True)
    parser.add_argument("--seeds", required=True)
    parser.add_argument("--methods", default="random,tpe,cmaes")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    for function in args.functions.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            for method in args.methods.split(","):
                for line in runs(args.evaluator, function, budgets, seed, method):
                    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # noqa: BLE001 - one line on stderr for the bench to show
        print(f"optuna_compare: {err}", file=sys.stderr)
        sys.exit(1)
