#!/usr/bin/env python3
"""The optimizer benchmark's genetic-algorithm baseline: a plain (mu + lambda)
GA written with DEAP the way its documentation teaches, calling the same
evaluator program as `orchestra optimize` and the Optuna baselines, the same
way (optuna_compare.py's `sh`: one shell per evaluation, `{"variables": ..., "trial": n}`
on stdin, one JSON object back).

    python3 bench/optimizer/deap_compare.py \\
        --evaluator "node bench/optimizer/evaluator.mjs --landscapes FILE" \\
        --functions sphere-5d,drifting --budgets 100,400 --seeds 1,2,3

Prints one JSON line per run in optuna_compare.py's shape, method "deap".

Choices made, each also printed in the run's `note`:
- Floats and ints are genes in [0, 1] (log-scaled where the space says log),
  so one SBX crossover (eta 15, per pair with probability 0.9) and one
  polynomial mutation (eta 20, each gene with probability 1/n), Deb's NSGA-II
  settings, fit every numeric variable. Ints are decoded by rounding over
  [min - 0.5, max + 0.5] and clamping, so the end values are as likely as
  the others. Categoricals and bools are integer genes: uniform crossover,
  and the same 1/n mutation as a random reset (categorical) or a flip (bool).
- Parents by tournament of 3; survivors the best mu of parents and offspring.
  Budgets of 100-400 evaluations leave a handful of generations, so the GA
  keeps every good individual it paid for rather than replacing its
  population wholesale as eaSimple does.
- mu = lambda = round(sqrt(budget)), 8 to 50 (10 at 100, 20 at 400), so
  about as many generations as individuals. On sphere-5d and rastrigin-5d
  over 15 seeds, 2 sqrt(budget) did worse at both budgets (fewer generations)
  and a fixed 10 did as well or better at 400; the population still grows with
  the budget, for wider spaces than these. Sized to the budget, each budget is
  its own run, unlike the Optuna samplers.
- Exactly `budget` evaluations: offspring that crossover and mutation left
  unchanged keep their fitness and cost nothing (DEAP's invalid-fitness rule),
  and the last generation is cut where the budget ends.
- A failed evaluation gets the worst fitness (+inf when minimising), so it
  loses every tournament and never survives.
- The recommendation is the best successful evaluation seen, as for the Optuna
  baselines; on the drifting landscape the best among the evaluations at or
  after the drift trial. The GA itself is not told of the drift: survivors
  keep the fitness they earned before it, as a DEAP user's GA would.
- `random` is seeded with the run's seed: DEAP draws only from it.
"""

import argparse
import json
import math
import random
import sys
import time

import deap
from deap import base, creator, tools

# The evaluator is called exactly as for the Optuna baselines.
from optuna_compare import evaluator_for, sh

CXPB = 0.9
ETA_CX = 15.0
ETA_MUT = 20.0
TOURNAMENT = 3

creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
creator.create("FitnessMax", base.Fitness, weights=(1.0,))
creator.create("IndividualMin", list, fitness=creator.FitnessMin)
creator.create("IndividualMax", list, fitness=creator.FitnessMax)


def population_size(budget):
    return min(budget, max(8, min(50, round(math.sqrt(budget)))))


class Genome:
    """The space as genes: the numeric variables first (each in [0, 1]), then the categorical and bool ones (choice indices)."""

    def __init__(self, space):
        variables = space["variables"]
        self.numeric = [(n, v) for n, v in variables.items() if v["type"] in ("float", "int")]
        self.discrete = [(n, v) for n, v in variables.items() if v["type"] in ("categorical", "bool")]
        unknown = [n for n, v in variables.items() if v["type"] not in ("float", "int", "categorical", "bool")]
        if unknown:
            raise ValueError(f"unknown variable type for {', '.join(unknown)}")
        self.choices = [v["choices"] if v["type"] == "categorical" else [False, True] for _, v in self.discrete]
        self.n = len(self.numeric) + len(self.discrete)

    def random(self, cls):
        return cls([random.random() for _ in self.numeric] + [random.randrange(len(c)) for c in self.choices])

    def decode(self, genes):
        variables = {}
        for (name, v), u in zip(self.numeric, genes):
            lo, hi = (v["min"] - 0.5, v["max"] + 0.5) if v["type"] == "int" else (v["min"], v["max"])
            x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if v.get("log") else lo + u * (hi - lo)
            x = min(v["max"], max(v["min"], math.floor(x + 0.5) if v["type"] == "int" else x))
            variables[name] = x
        for (name, _), choices, i in zip(self.discrete, self.choices, genes[len(self.numeric):]):
            variables[name] = choices[i]
        return variables

    def mate(self, a, b):
        k = len(self.numeric)
        if k:
            x, y = a[:k], b[:k]
            tools.cxSimulatedBinaryBounded(x, y, eta=ETA_CX, low=0.0, up=1.0)
            a[:k], b[:k] = x, y
        if self.discrete:
            x, y = a[k:], b[k:]
            tools.cxUniform(x, y, indpb=0.5)
            a[k:], b[k:] = x, y
        return a, b

    def mutate(self, ind):
        k = len(self.numeric)
        indpb = 1.0 / self.n
        if k:
            x = ind[:k]
            tools.mutPolynomialBounded(x, eta=ETA_MUT, low=0.0, up=1.0, indpb=indpb)
            ind[:k] = x
        for j, choices in enumerate(self.choices):
            if random.random() < indpb:
                ind[k + j] = 1 - ind[k + j] if len(choices) == 2 and choices == [False, True] else random.randrange(len(choices))
        return (ind,)


def ga(command, space, budget, seed):
    """One GA run of exactly `budget` evaluations; returns the evaluations in order as (variables, success, value)."""
    random.seed(seed)
    minimize = space["objective"]["direction"] == "minimize"
    worst = math.inf if minimize else -math.inf
    genome = Genome(space)
    cls = creator.IndividualMin if minimize else creator.IndividualMax
    mu = population_size(budget)
    toolbox = base.Toolbox()
    toolbox.register("mate", genome.mate)
    toolbox.register("mutate", genome.mutate)
    toolbox.register("select", tools.selTournament, tournsize=TOURNAMENT)
    evaluations = []

    def evaluate(individuals):
        """Evaluates the individuals without a fitness, in order, until the budget ends; returns those evaluated."""
        done = []
        for ind in individuals:
            if ind.fitness.valid:
                done.append(ind)
                continue
            if len(evaluations) == budget:
                break
            variables = genome.decode(ind)
            result = sh(command, {"variables": variables, "trial": len(evaluations)})
            ok = bool(result.get("success")) and result.get("value") is not None
            evaluations.append((variables, ok, float(result["value"]) if ok else None))
            ind.fitness.values = (evaluations[-1][2] if ok else worst,)
            done.append(ind)
        return done

    population = evaluate([genome.random(cls) for _ in range(mu)])
    generations = 0
    while len(evaluations) < budget:
        offspring = [toolbox.clone(ind) for ind in toolbox.select(population, mu)]
        parents = [list(ind) for ind in offspring]
        for a, b in zip(offspring[::2], offspring[1::2]):
            if random.random() < CXPB:
                toolbox.mate(a, b)
        for ind in offspring:
            toolbox.mutate(ind)
        for ind, genes in zip(offspring, parents):
            if list(ind) != genes:
                del ind.fitness.values
        population = tools.selBest(population + evaluate(offspring), mu)
        generations += 1
    return evaluations, mu, generations


def runs(base_command, function, budgets, seed):
    for budget in budgets:
        described = sh(evaluator_for(base_command, function, budget, seed) + " --describe", {})
        command = evaluator_for(base_command, function, budget, seed)
        started = time.monotonic()
        evaluations, mu, generations = ga(command, described["space"], budget, seed)
        seconds = time.monotonic() - started
        yield result(base_command, function, budget, seed, described, evaluations, mu, generations, seconds)


def result(base_command, function, budget, seed, described, evaluations, mu, generations, seconds):
    space = described["space"]
    drift = described["driftTrial"]
    minimize = space["objective"]["direction"] == "minimize"
    # index.ts splits the note on "; " to list each choice once, so none of them contains one.
    notes = [
        f"DEAP {deap.__version__} (mu + lambda) GA, tournament {TOURNAMENT}, SBX eta {ETA_CX:g} p {CXPB:g} and polynomial mutation eta {ETA_MUT:g} p 1/n"
        " on [0, 1] genes (log-scaled where the space says, ints rounded), uniform crossover and random reset or bit flip for categoricals and bools,"
        " failures get the worst fitness",
        f"population {mu}, {generations} generations",
    ]
    counted = [(trial, e) for trial, e in enumerate(evaluations) if e[1]]
    if drift is not None:
        counted = [(trial, e) for trial, e in counted if trial >= drift]
        notes.append(f"recommendation: best trial at or after the drift (trial {drift})")
    best = None
    regret = None
    if counted:
        trial, (variables, _, value) = (min if minimize else max)(counted, key=lambda te: te[1][2])
        best = {"variables": variables, "value": value, "trial": trial}
        regret = sh(evaluator_for(base_command, function, budget, seed) + " --exact", {"variables": variables})["regret"]
    return {
        "function": function,
        "budget": budget,
        "seed": seed,
        "method": "deap",
        "regret": regret,
        "best": best,
        "evaluations": len(evaluations),
        "failures": sum(1 for e in evaluations if not e[1]),
        "seconds": round(seconds, 2),
        "note": "; ".join(notes),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluator", required=True, help="the evaluator command, without --function/--budget/--seed")
    parser.add_argument("--functions", required=True)
    parser.add_argument("--budgets", required=True)
    parser.add_argument("--seeds", required=True)
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    for function in args.functions.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            for line in runs(args.evaluator, function, budgets, seed):
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # noqa: BLE001 - one line on stderr for the bench to show
        print(f"deap_compare: {err}", file=sys.stderr)
        sys.exit(1)
