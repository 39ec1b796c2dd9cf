/**
 * A custom agent with a typed request and a typed event.
 *
 * The contracts are declared once and used by both sides: the pricing agent
 * answers `quote` and announces each quote with a `quote_given` event; the
 * shop agent asks for a quote and hears the event. Data that breaks a contract
 * is refused where it is sent, naming the field.
 *
 *   node --import tsx examples/custom-agent.ts
 */
import { z } from 'zod';
import { BaseAgent, createOrchestra, defineEvent, defineRequest, IN_MEMORY, type AgentDeps } from 'orchestra-runtime';

const PRICES: Record<string, number> = { apple: 0.5, pear: 0.75 };

const quote = defineRequest({
  name: 'quote',
  to: 'pricing',
  data: z.object({ item: z.string(), quantity: z.number().int().positive() }),
  reply: z.object({ item: z.string(), total: z.number() }),
});

const quoteGiven = defineEvent({
  name: 'quote_given',
  data: z.object({ item: z.string(), total: z.number() }),
});

class PricingAgent extends BaseAgent {
  constructor(deps: AgentDeps) {
    super('pricing', 'pricing', deps);
    this.onRequest(quote, async ({ item, quantity }) => {
      const price = PRICES[item];
      if (price === undefined) throw new Error(`no price for ${item}`);
      const total = price * quantity;
      await this.sendEvent(quoteGiven, { item, total });
      return { item, total };
    });
  }
}

class ShopAgent extends BaseAgent {
  private heard: ((quote: z.output<typeof quoteGiven.data>) => void) | undefined;
  readonly quoteHeard = new Promise<z.output<typeof quoteGiven.data>>((resolve) => (this.heard = resolve));

  constructor(deps: AgentDeps) {
    super('shop', 'shop', deps);
    this.onEvent(quoteGiven, (data) => this.heard?.(data));
  }
}

// The embedded default: an in-process bus, and PGlite kept in memory.
const orchestra = await createOrchestra({ store: { dataDir: IN_MEMORY } });
const deps: AgentDeps = { bus: orchestra.bus, clock: orchestra.clock };
const pricing = new PricingAgent(deps);
const shop = new ShopAgent(deps);
try {
  await pricing.start();
  await shop.start();

  const reply = await shop.sendRequest(quote, { item: 'apple', quantity: 3 });
  console.log(`quote: ${reply.item} × 3 = ${reply.total}`);
  const heard = await shop.quoteHeard;
  console.log(`shop heard quote_given: ${heard.item} ${heard.total}`);

  // A handler that throws answers with an error carrying a stable code.
  const failure = await shop.sendRequest(quote, { item: 'plum', quantity: 1 }).catch((err: Error) => err);
  console.log(`unknown item: ${failure instanceof Error ? failure.message : 'no error'}`);
} finally {
  await shop.stop();
  await pricing.stop();
  await orchestra.close();
}
