import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { intFlag, onOffFlag, type CliIo, type GlobalFlags } from './context.js';
import { AGENT_NAMES, EXPERIMENT_AGENT_NAMES } from './system.js';
import { EXIT_USAGE, exitCodeFor, formatError } from './errors.js';
import { migrateCommand } from './commands/migrate.js';
import { startCommand } from './commands/start.js';
import { serveCommand } from './commands/serve.js';
import { runResearchCommand } from './commands/run.js';
import { agentsCommand } from './commands/agents.js';
import { optimizeCommand } from './commands/optimize.js';
import { bestCommand, botsCommand, campaignsCommand, generationsCommand } from './commands/inspect.js';
import { workerCommand } from './commands/worker.js';
import { botCommand } from './commands/bot.js';
import { TOKEN_VARIABLE } from './api-client.js';
import { addExamples } from './examples.js';
import { stopCommand, triggerCommand } from './commands/control.js';
import { botsReinstateCommand } from './commands/bots.js';
import { botsActionCommand, campaignsStartCommand, campaignsStopCommand } from './commands/operate.js';
import { deadLettersCommand, tasksAdd, tasksCancel, tasksList, tasksPrune, tasksRetry, tasksShow, tasksStats } from './commands/tasks.js';
import { ANSWER_TIMEOUT_MS, CONFIG_DEFAULTS, describeMs, OPTIMIZE_EVALUATION_TIMEOUT_MS, OPTIMIZE_PARALLEL, OPTIMIZE_POPULATION, RUN_TIMEOUT_MS, START_COMMAND_DEFAULTS, START_DEFAULTS } from './defaults.js';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../workloads/index.js';
import { tokensCreate, tokensList, tokensRevoke } from './commands/tokens.js';

/** The help of every `--api` flag. */
const API_HELP = 'send it through the HTTP API at this URL (the token comes from ORCHESTRA_TOKEN), instead of the bus';

/** The `orchestra` command tree; each action is a composition root of its own. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('orchestra')
    .description('Event-driven multi-agent runtime: typed messages, a durable task registry, workers.')
    .option('--data <dir>', `folder of the embedded database, used when no database URL is set (env ORCHESTRA_DATA_DIR; default ${CONFIG_DEFAULTS.store.dataDir})`)
    .option('--database-url <url>', 'PostgreSQL connection string (env DATABASE_URL; default: the embedded database)')
    .option('--redis-url <url>', 'Redis connection string (env REDIS_URL; default: an in-process bus)')
    .option('--config <file>', 'JSON configuration file (env ORCHESTRA_CONFIG; default ./orchestra.config.json when present)')
    .option('--log-level <level>', `trace, debug, info, warn, error, fatal or silent; logs go to stderr (env ORCHESTRA_LOG_LEVEL; default ${CONFIG_DEFAULTS.logLevel})`)
    .version(version(), '-V, --version', 'print the version')
    .showHelpAfterError(false)
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    // Errors are written by `main`, as one line with a code; commander's own text would be a second.
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: () => undefined });

  const globals = (): GlobalFlags => program.opts<GlobalFlags>();

  program
    .command('start')
    .description(
      `run the experiment system: tune the built-in compression workload on a simulated fleet of ${CONFIG_DEFAULTS.fleet.bots} bots (or your evaluator: --space and --command), generation after generation ` +
        `(${START_DEFAULTS['experiment.population']} combinations per generation, each tested ${START_DEFAULTS['experiment.testsPerCombination']} times, unless configured)`,
    )
    .option('--generations <n>', 'stop after this many generations, with a summary (default: run until Ctrl-C)', intFlag('--generations', 1, 1_000_000))
    .option('--folder <dir>', "the files to compress (default: Orchestra's own compiled sources)")
    .option('--space <file>', 'run the study on your own variable space (JSON, as optimize reads it), with --command or --workload synthetic')
    .option('--command <cmd>', 'your evaluator, run through sh -c for each test: {"variables", "trial"} on stdin, {"success", "value"} on stdout')
    .option('--workload <name>', 'a built-in workload instead: compression (the default) or synthetic (a seeded landscape over --space)')
    .option('--bots <n>', `bots in this process (default ${CONFIG_DEFAULTS.fleet.bots}, ${START_COMMAND_DEFAULTS['fleet.bots']} with --command, or fleet.bots); 0 leaves the tests to bots joined with orchestra bot`, intFlag('--bots', 0, 256))
    .option('--timeout-ms <ms>', 'one run of --command may take this long before it is killed and counted as failed (default 60 s)', intFlag('--timeout-ms', 1))
    .option('--campaign-command <cmd>', "what a campaign's runs execute on this process's bots instead of the evaluator (your production job), with the same protocol")
    .option('--json', 'print the summary as JSON')
    .option('--port <n>', `serve the HTTP API on this port of api.host (default ${CONFIG_DEFAULTS.api.port}, or api.port; a default port already taken is skipped with a warning); 0 takes any free port`, intFlag('--port', 0, 65_535))
    .option('--no-api', 'serve no HTTP API')
    .option('--drift <on|off>', 'detect environment changes (drift) and search again after one; off: a stationary study pays no false alarms (default on, experiment.drift.enabled)', onOffFlag('--drift'))
    .action((options) => startCommand(globals(), options, io));

  program
    .command('serve')
    .description('run agents until SIGINT or SIGTERM: all of them, or those --agents names; with --space, the experiment agents of a study too')
    .option('--agents <names>', `comma-separated, from ${AGENT_NAMES.join(', ')} (default: all); with --space, also ${EXPERIMENT_AGENT_NAMES.filter((n) => !(AGENT_NAMES as readonly string[]).includes(n)).join(', ')} (default: the whole experiment system)`)
    .option('--concurrency <n>', 'tasks each worker agent runs at once', intFlag('--concurrency', 1, 1024))
    .option('--port <n>', `also serve the HTTP API on this port of api.host (default ${CONFIG_DEFAULTS.api.host}); 0 takes any free port`, intFlag('--port', 0, 65_535))
    .option('--space <file>', 'run a study too, as start does, on this variable space: with --command, or --workload synthetic; several serve processes share it, one driving')
    .option('--command <cmd>', "the study's evaluator, for the bots of this process (bots that join run their own --exec)")
    .option('--workload <name>', 'a built-in workload for the study: compression or synthetic (over --space)')
    .option('--bots <n>', 'with a study, bots in this process (default 0: bots join with orchestra bot)', intFlag('--bots', 0, 256))
    .option('--timeout-ms <ms>', 'one run of --command may take this long (default 60 s)', intFlag('--timeout-ms', 1))
    .option('--campaign-command <cmd>', "with a study, what a campaign's runs execute on this process's bots instead of the evaluator (bots that join: --exec campaign=CMD)")
    .action((options) => serveCommand(globals(), options, io));

  const tokens = program.command('tokens').description('bearer tokens of the HTTP API: admin (everything), viewer (read-only), bot');
  tokens
    .command('create')
    .description('make a token and print it, once (the store keeps only its hash)')
    .requiredOption('--role <role>', 'admin, viewer or bot')
    .requiredOption('--name <name>', 'what the token is for, as tokens list shows it')
    .option('--expires-in-hours <n>', 'the token stops working after this long (default: never)', intFlag('--expires-in-hours', 1, 100_000))
    .option('--json', 'print the token and its record as JSON')
    .option('--api <url>', `through a running system's API (an admin token in ${TOKEN_VARIABLE}): for an embedded store a running start holds`)
    .action((options) => tokensCreate(globals(), options, io));
  tokens
    .command('list')
    .description('the tokens, without their secrets: role, state, when made, when last used')
    .option('--json', 'print JSON')
    .option('--api <url>', `through a running system's API (an admin token in ${TOKEN_VARIABLE})`)
    .action((options) => tokensList(globals(), options, io));
  tokens
    .command('revoke')
    .description('stop a token from working, at once')
    .argument('<id>', 'the token id tokens list shows')
    .option('--json', 'print JSON')
    .option('--api <url>', `through a running system's API (an admin token in ${TOKEN_VARIABLE})`)
    .action((id, options) => tokensRevoke(globals(), id, options, io));

  const run = program.command('run').description('run a pipeline and print what it produced');
  run
    .command('research')
    .description('register a research → write pair and print the report once it is written')
    .requiredOption('--topic <text>', 'what to research')
    .option('--timeout-ms <ms>', `stop waiting after this long (the tasks go on; default ${describeMs(RUN_TIMEOUT_MS)})`, intFlag('--timeout-ms', 1))
    .option('--json', 'print the report and its figures as JSON')
    .action((options) => runResearchCommand(globals(), options, io));

  program
    .command('optimize')
    .description('find the best combination of variables for an external evaluator, within a budget of evaluations')
    .requiredOption('--space <file>', 'the variable space, as JSON')
    .option('--command <cmd>', 'the evaluator, run through sh -c: {"variables", "trial"} on stdin, {"success", "value"} on stdout (not with --bots remote)')
    .requiredOption('--budget <n>', 'evaluations at most, failed ones included', intFlag('--budget', 1, 1_000_000))
    .requiredOption('--out <file>', 'where to write the result JSON')
    .option('--seed <n>', `seed of the search (default ${CONFIG_DEFAULTS.experiment.seed}, experiment.seed)`, intFlag('--seed', 0, 2 ** 31 - 1))
    .option('--population <n>', `combinations per generation (default: budget / ${OPTIMIZE_POPULATION.budgetShare}, from ${OPTIMIZE_POPULATION.min} to ${OPTIMIZE_POPULATION.max}, unless experiment.population is configured)`, intFlag('--population', 2, 10_000))
    .option('--parallel <n>', `evaluations run at once (default ${OPTIMIZE_PARALLEL})`, intFlag('--parallel', 1, 256))
    .option('--timeout-ms <ms>', `one evaluation may run this long before it is killed and counted as failed (default ${OPTIMIZE_EVALUATION_TIMEOUT_MS})`, intFlag('--timeout-ms', 1))
    .option('--bots <where>', 'local (the default): --parallel bots in this process run --command; remote: bots that join over HTTP (orchestra bot) run their own --exec', 'local')
    .option('--port <n>', `with --bots remote or --ui, the API's port (default ${CONFIG_DEFAULTS.api.port}); 0 takes any free port`, intFlag('--port', 0, 65_535))
    .option('--ui', 'serve the API and the dashboard while the study runs, to watch it live')
    .option('--drift <on|off>', 'detect environment changes (drift) and search again after one; off: a stationary study pays no false alarms (default on, experiment.drift.enabled)', onOffFlag('--drift'))
    .option('--enqueue <file>', 'a JSON array of combinations (objects of variable values) evaluated first, before the search proposes any, within the budget')
    .option('--resume', 'continue the interrupted study kept in --data (or DATABASE_URL)')
    .option('--json', 'print the summary as JSON')
    .action((options) => optimizeCommand(globals(), options, io));

  for (const [name, description, action] of [
    ['generations', "a study's generations: tests done, failures, best score", generationsCommand],
    ['best', "a study's best combination, with its score and metrics", bestCommand],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option('--study <id>', 'which study (default: the most recently active)')
      .option('--json', 'print JSON')
      .action((options) => action(globals(), options, io));
  }
  for (const [name, description, action] of [
    ['bots', 'the fleet: state, success rate, restarts', botsCommand],
    ['campaigns', 'campaigns and their progress', campaignsCommand],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option('--study <id>', 'only what served this study (default: all)')
      .option('--json', 'print JSON')
      .action((options) => action(globals(), options, io));
  }
  program
    .commands.find((c) => c.name() === 'bots')!
    .command('reinstate <id>')
    .description("put an isolated bot back in the fleet, its success rate reset to the fleet's mean")
    .option('--reason <text>', 'why, kept with the bot')
    .option('--api <url>', API_HELP)
    .option('--json', 'print JSON')
    .action((id: string, _options, command: Command) => botsReinstateCommand(globals(), id, command.optsWithGlobals(), io));

  // A subcommand's --json may be parsed as its parent's (bots, campaigns): its options are read with its parents'.
  const bots = program.commands.find((c) => c.name() === 'bots')!;
  for (const [action, description] of [
    ['restart', 'send restart_bot: the running bot agent gives the bot a fresh worker; what it held goes to others'],
    ['isolate', 'send isolate_bot: the running bot agent takes the bot out of the fleet (reinstate puts it back)'],
  ] as const) {
    bots
      .command(`${action} <id>`)
      .description(description)
      .option('--reason <text>', 'why, kept with the bot')
      .option('--api <url>', API_HELP)
      .option('--timeout-ms <ms>', `how long to wait for the running system to answer (default ${ANSWER_TIMEOUT_MS})`, intFlag('--timeout-ms', 1))
      .option('--json', 'print JSON')
      .action((id: string, _options, command: Command) => botsActionCommand(globals(), action, id, command.optsWithGlobals(), io));
  }

  const campaigns = program.commands.find((c) => c.name() === 'campaigns')!;
  campaigns
    .command('start')
    .description("send start_campaign: the running campaign agent runs its study's best combination --runs times")
    .requiredOption('--runs <n>', 'how many runs', intFlag('--runs', 1, 100_000))
    .option('--per-minute <n>', 'at most this many runs a minute (default: as fast as the fleet goes)', intFlag('--per-minute', 1, 1_000_000))
    .option('--api <url>', API_HELP)
    .option('--timeout-ms <ms>', `how long to wait for the running system to answer (default ${ANSWER_TIMEOUT_MS})`, intFlag('--timeout-ms', 1))
    .option('--json', 'print JSON')
    .action((_options, command: Command) => campaignsStartCommand(globals(), command.optsWithGlobals(), io));
  campaigns
    .command('stop <id>')
    .description('send stop_campaign: the runs not yet done are cancelled')
    .option('--api <url>', API_HELP)
    .option('--timeout-ms <ms>', `how long to wait for the running system to answer (default ${ANSWER_TIMEOUT_MS})`, intFlag('--timeout-ms', 1))
    .option('--json', 'print JSON')
    .action((id: string, _options, command: Command) => campaignsStopCommand(globals(), id, command.optsWithGlobals(), io));

  for (const [name, description, action] of [
    ['trigger', 'send trigger_test: the running study starts its next generation now, whatever its cadence', triggerCommand],
    ['stop', 'send stop_test: the running study stops after recording the tests in flight; start resumes it', stopCommand],
  ] as const) {
    const command = program
      .command(name)
      .description(description)
      .option('--study <id>', 'which study (default: the most recently active)')
      .option('--timeout-ms <ms>', `how long to wait for the running system to answer (default ${ANSWER_TIMEOUT_MS})`, intFlag('--timeout-ms', 1))
      .option('--json', 'print JSON');
    if (name === 'stop') command.option('--reason <text>', 'recorded with the stop');
    command.option('--api <url>', API_HELP);
    command.action((options) => action(globals(), options, io));
  }

  program
    .command('agents')
    .description("list the running agents and their status, as the orchestrator knows them")
    .option('--timeout-ms <ms>', `how long to wait for the orchestrator (default ${ANSWER_TIMEOUT_MS})`, intFlag('--timeout-ms', 1))
    .option('--json', 'print JSON')
    .action((options) => agentsCommand(globals(), options, io));

  program
    .command('worker')
    .description('run tasks with external commands: payload JSON on stdin, result JSON on stdout')
    .option('--exec <kind=command...>', 'run COMMAND (through sh -c) for tasks of KIND; one or more')
    .option('--kind <kind...>', 'kinds to run, each mapped by an --exec (the --exec kinds are run anyway)')
    .option('--concurrency <n>', `tasks run at once (default ${CONFIG_DEFAULTS.worker.concurrency}, worker.concurrency)`, intFlag('--concurrency', 1, 1024))
    .option('--grace-ms <ms>', `on SIGINT/SIGTERM, how long running tasks may take to finish before they are given back (default ${CONFIG_DEFAULTS.worker.shutdownGraceMs}, worker.shutdownGraceMs)`, intFlag('--grace-ms'))
    .option('--timeout-ms <ms>', `how long one command may run before it is killed (default ${describeMs(DEFAULT_COMMAND_TIMEOUT_MS)})`, intFlag('--timeout-ms', 1))
    .action((options) => workerCommand(globals(), options, io));

  program
    .command('bot')
    .description("join a fleet over HTTP as a bot on this machine: run the tests the fleet hands it through the evaluator commands (needs no database or Redis credentials)")
    .option('--api <url>', 'the Orchestra server to join (its API URL)')
    .option('--token <token>', `a registration token (orchestra tokens create --role bot); ${TOKEN_VARIABLE} keeps it out of the process list`)
    .option('--exec <key=command...>', 'test=COMMAND runs every test; WORKLOAD=COMMAND the tests of one workload; campaign=COMMAND the runs of campaigns')
    .option('--capacity <n>', 'tests run at once (the fleet caps it at 3 by default)', intFlag('--capacity', 1, 64))
    .option('--id <id>', 'the bot id (default: the device id); a bot that registers again under its id keeps its history')
    .option('--device-id <id>', 'the device it runs on (default: the host name)')
    .option('--group <group>', 'its group in the fleet (default: default)')
    .option('--role <role>', 'its role in the fleet (default: tester)')
    .option('--timeout-ms <ms>', 'how long one evaluation may run before it is killed (default 60 s)', intFlag('--timeout-ms', 1))
    .action((options) => botCommand(globals(), options, io));

  const tasks = program.command('tasks').description('register and inspect tasks');
  tasks
    .command('add')
    .description('register a task from flags, or many from JSON lines on stdin (atomically)')
    .option('--kind <kind>', 'the task kind')
    .option('--payload <json>', 'the payload, as JSON')
    .option('--priority <p>', '1 (most urgent) to 10', intFlag('--priority', 1, 10))
    .option('--depends-on <id...>', 'tasks that must complete first')
    .option('--idempotency-key <key>', 'registering again with this key returns the existing task')
    .option('--max-attempts <n>', 'attempts before the task fails for good', intFlag('--max-attempts', 1, 100))
    .option('--json', 'print JSON')
    .action((options) => tasksAdd(globals(), options, io));
  tasks
    .command('list')
    .description('list tasks, newest first')
    .option('--status <status...>', 'only these statuses (pending, running, completed, failed, cancelled)')
    .option('--kind <kind...>', 'only these kinds')
    .option('--limit <n>', 'at most this many', intFlag('--limit', 1, 10_000))
    .option('--offset <n>', 'skip this many', intFlag('--offset'))
    .option('--json', 'print JSON')
    .action((options) => tasksList(globals(), options, io));
  tasks
    .command('show <id>')
    .description('one task, with reports refused because their attempt had lost the lease')
    .option('--json', 'print JSON')
    .action((id, options) => tasksShow(globals(), id, options, io));
  tasks
    .command('stats')
    .description('tasks counted by status and priority')
    .option('--json', 'print JSON')
    .action((options) => tasksStats(globals(), options, io));
  tasks
    .command('retry <id>')
    .description('put a FAILED or CANCELLED task back to PENDING, with the dependents that failed because of it')
    .option('--json', 'print JSON')
    .action((id, options) => tasksRetry(globals(), id, options, io));
  tasks
    .command('cancel <id>')
    .description('cancel a PENDING or RUNNING task')
    .option('--reason <text>', 'recorded as the task error')
    .option('--json', 'print JSON')
    .action((id, options) => tasksCancel(globals(), id, options, io));

  tasks
    .command('prune')
    .description(`delete finished tasks last changed longer ago than the retention (default ${describeMs(CONFIG_DEFAULTS.registry.retentionMs)}, registry.retentionMs)`)
    .option('--older-than-hours <h>', 'instead of the retention', intFlag('--older-than-hours', 0))
    .option('--json', 'print JSON')
    .action((options) => tasksPrune(globals(), options, io));

  program
    .command('dead-letters')
    .description('messages refused at a boundary, newest first, with the reason')
    .option('--limit <n>', 'at most this many', intFlag('--limit', 1, 10_000))
    .option('--json', 'print JSON')
    .action((options) => deadLettersCommand(globals(), options, io));

  program
    .command('migrate')
    .description('apply pending schema migrations')
    .option('--json', 'print JSON')
    .action((options) => migrateCommand(globals(), options, io));

  addExamples(program);
  return program;
}

/**
 * Runs one command line and returns the exit status: 0, 2 for anything the
 * user can fix in the command (usage, configuration, input), 1 otherwise.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      io.stderr.write(`orchestra: ${usageMessage(program, argv, err)} [ORC_CLI_BAD_ARGUMENT]\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`${formatError(err, io.env.ORCHESTRA_DEBUG === '1')}\n`);
    return exitCodeFor(err);
  }
}

/** Commander's message on one line; a command given without its subcommand says which exist. */
function usageMessage(program: Command, argv: string[], err: CommanderError): string {
  if (err.code !== 'commander.help') return err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  let command = program;
  const path = [program.name()];
  for (const arg of argv) {
    const sub = command.commands.find((c) => c.name() === arg);
    if (!sub) continue;
    command = sub;
    path.push(sub.name());
  }
  const names = command.commands.map((c) => c.name()).filter((n) => n !== 'help');
  const which = path.length > 1 ? `${path.slice(1).join(' ')} needs a command` : 'a command is needed';
  return `${which}: ${names.join(', ')} (see ${path.join(' ')} --help)`;
}

function version(): string {
  // main.ts and the built main.js both sit two folders below package.json.
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}
