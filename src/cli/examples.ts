import type { Command } from 'commander';

/**
 * One or two command lines for each command's `--help`, by the command's
 * path. A command missing here gets no examples, and the test of the help
 * text fails, so a new command comes with its own.
 */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': ['orchestra start --generations 5', 'orchestra tasks add --kind resize --payload \'{"file":"a.png"}\''],
  start: [
    'orchestra start                      # until Ctrl-C; run it again to resume',
    'orchestra start --generations 5 --json',
    'orchestra start --space space.json --command ./evaluate.sh --bots 0   # your evaluator, on bots that join with orchestra bot',
  ],
  serve: [
    'orchestra serve',
    'orchestra serve --port 7070              # the HTTP API too, with /docs',
    'DATABASE_URL=postgres://… orchestra serve --space space.json --workload synthetic --port 7070   # a study; with REDIS_URL too, on as many servers as you like',
  ],
  tokens: ['orchestra tokens create --role viewer --name dashboard', 'orchestra tokens list'],
  'tokens create': [
    'orchestra tokens create --role viewer --name ci',
    'orchestra tokens create --role admin --name ops --expires-in-hours 24 --json',
    'ORCHESTRA_TOKEN=orc_… orchestra tokens create --role bot --name fleet --api http://127.0.0.1:7070   # a registration token, from a running start',
  ],
  'tokens list': ['orchestra tokens list', 'orchestra tokens list --json', 'ORCHESTRA_TOKEN=orc_… orchestra tokens list --api http://127.0.0.1:7070'],
  'tokens revoke': ['orchestra tokens revoke 3f9a2c1b7d4e'],
  run: ['orchestra run research --topic "back-pressure"'],
  'run research': ['orchestra run research --topic "back-pressure"', 'orchestra run research --topic "fencing tokens" --json --timeout-ms 60000'],
  optimize: [
    'orchestra optimize --space space.json --command ./evaluate.sh --budget 200 --out result.json',
    'orchestra --data ./study optimize --space space.json --command "python3 eval.py" --budget 400 --seed 2 --parallel 8 --out result.json',
    'orchestra optimize --space space.json --bots remote --port 7070 --budget 200 --out result.json   # bots join with orchestra bot',
    'orchestra optimize --space space.json --command ./evaluate.sh --budget 200 --ui --port 7070 --out result.json   # watch it on the dashboard',
    'orchestra --log-level info optimize --space space.json --command ./evaluate.sh --budget 200 --enqueue known.json --drift off --out result.json   # known combinations first, a line per evaluation',
  ],
  generations: ['orchestra generations', 'orchestra --data ./study generations --study optimize --json'],
  best: ['orchestra best', 'orchestra --data ./study best --json'],
  bots: ['orchestra bots', 'orchestra bots --json'],
  'bots reinstate': ['orchestra bots reinstate bot-3 --reason "disk replaced"', 'REDIS_URL=redis://localhost:6379 orchestra bots reinstate bot-3 --json'],
  'bots restart': ['ORCHESTRA_TOKEN=orc_… orchestra bots restart bot-2', 'REDIS_URL=redis://localhost:6379 orchestra bots restart bot-2 --reason "frozen"'],
  'bots isolate': ['ORCHESTRA_TOKEN=orc_… orchestra bots isolate bot-3 --reason "cable check" --api http://127.0.0.1:7070', 'REDIS_URL=redis://localhost:6379 orchestra bots isolate bot-3 --json'],
  campaigns: ['orchestra campaigns', 'orchestra campaigns --json'],
  'campaigns start': ['ORCHESTRA_TOKEN=orc_… orchestra campaigns start --runs 100', 'REDIS_URL=redis://localhost:6379 orchestra campaigns start --runs 1000 --per-minute 10 --json'],
  'campaigns stop': ['ORCHESTRA_TOKEN=orc_… orchestra campaigns stop c-1a2b3c4d', 'REDIS_URL=redis://localhost:6379 orchestra campaigns stop c-1a2b3c4d'],
  trigger: ['orchestra trigger', 'REDIS_URL=redis://localhost:6379 orchestra trigger --study compression --json', 'ORCHESTRA_TOKEN=orc_… orchestra trigger --api http://127.0.0.1:7070'],
  stop: ['orchestra stop --reason "maintenance"', 'REDIS_URL=redis://localhost:6379 orchestra stop --study compression'],
  agents: ['orchestra agents', 'REDIS_URL=redis://localhost:6379 orchestra agents --json'],
  bot: [
    'ORCHESTRA_TOKEN=orc_… orchestra bot --api http://10.0.0.5:7070 --exec test=./evaluate.sh',
    'orchestra bot --api http://10.0.0.5:7070 --token orc_… --exec test=./evaluate.sh campaign=./production.sh --id phone-7 --group lab --capacity 2',
  ],
  worker: ["orchestra worker --exec resize='convert - -resize 50% png:-'", 'orchestra worker --exec a=./a.sh b=./b.sh --concurrency 8 --grace-ms 30000'],
  tasks: ['orchestra tasks add --kind resize --payload \'{"file":"a.png"}\'', 'orchestra tasks list --status failed'],
  'tasks add': ['orchestra tasks add --kind resize --payload \'{"file":"a.png"}\' --priority 2', 'cat tasks.jsonl | orchestra tasks add --json'],
  'tasks list': ['orchestra tasks list --status failed pending --kind resize', 'orchestra tasks list --limit 10 --json'],
  'tasks show': ['orchestra tasks show ID', 'orchestra tasks show ID --json'],
  'tasks stats': ['orchestra tasks stats', 'orchestra tasks stats --json'],
  'tasks retry': ['orchestra tasks retry ID'],
  'tasks cancel': ['orchestra tasks cancel ID --reason "not needed"'],
  'tasks prune': ['orchestra tasks prune', 'orchestra tasks prune --older-than-hours 24'],
  'dead-letters': ['orchestra dead-letters', 'orchestra dead-letters --limit 10 --json'],
  migrate: ['orchestra migrate', 'DATABASE_URL=postgres://user@db-host:5432/orchestra orchestra migrate --json'],
};

/** A command's path below the program: `tasks add`; the program itself is ''. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds each command's examples after its help text, the program's and every subcommand's. */
export function addExamples(program: Command): void {
  const visit = (command: Command) => {
    const lines = EXAMPLES[commandPath(command)];
    if (lines?.length) command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}
