/**
 * Built-in scenarios, in the same shape as a scenario YAML file: a restaurant booking with two tool calls, a
 * delivery-support call with a CRM lookup, and a short FAQ without tools. Their weights mix them like a contact
 * centre's traffic.
 */
export const BUILTIN_SCENARIOS: Readonly<Record<string, unknown>> = {
  booking: {
    name: 'booking',
    weight: 3,
    persona: 'typical',
    min_turns: 2,
    tools: [
      {
        name: 'check_availability',
        description: 'Free tables on a date for a party size',
        parameters: { type: 'object', properties: { date: { type: 'string', description: 'YYYY-MM-DD' }, party: { type: 'integer' } }, required: ['date', 'party'] },
        endpoint: { method: 'GET', path: '/v1/availability?date={date}&party={party}' },
      },
      {
        name: 'create_booking',
        description: 'Book a table',
        parameters: { type: 'object', properties: { date: { type: 'string' }, time: { type: 'string' }, party: { type: 'integer' }, name: { type: 'string' } }, required: ['date', 'time', 'party'] },
        endpoint: { method: 'POST', path: '/v1/bookings' },
      },
    ],
    turns: [
      {
        say: 'Hi, I would like to book a table for two this Friday evening, please.',
        expect: { intent: 'check_availability', keywords: ['friday'] },
        tool: { name: 'check_availability', args: { date: '2026-12-04', party: 2 } },
        reply: 'On Friday we have tables for two at seven and at half past eight. Which would you like?',
      },
      {
        say: 'Seven works. The name is Morgan.',
        expect: { intent: 'create_booking', keywords: ['booked', 'seven'] },
        tool: { name: 'create_booking', args: { date: '2026-12-04', time: '19:00', party: 2, name: 'Morgan' } },
        reply: 'Done: you are booked for two on Friday at seven, under Morgan. We will send a confirmation text.',
      },
      { say: 'Great, thank you very much.', expect: { keywords: ['welcome'] }, reply: 'You are welcome. Enjoy your dinner!' },
    ],
  },
  support: {
    name: 'support',
    weight: 2,
    persona: 'impatient',
    min_turns: 1,
    tools: [
      {
        name: 'lookup_order',
        description: 'Status and ETA of an order',
        parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
        endpoint: { method: 'GET', path: '/v1/orders/{order_id}' },
      },
    ],
    turns: [
      {
        say: 'My order has not arrived yet. The order number is four four two one.',
        expect: { intent: 'lookup_order', keywords: ['order', 'minutes'] },
        tool: { name: 'lookup_order', args: { order_id: '4421' } },
        reply: 'I found order four four two one: it is out for delivery and should reach you in about twenty minutes.',
      },
      { say: 'Can the driver call me when they are outside?', expect: { keywords: ['driver'] }, reply: 'Yes, I have added a note asking the driver to call you on arrival.' },
    ],
  },
  faq: {
    name: 'faq',
    weight: 1,
    persona: 'patient',
    tools: [],
    turns: [
      { say: 'What time do you open on Sunday?', expect: { keywords: ['sunday', 'open'] }, reply: 'On Sunday we open at eleven in the morning and close at ten at night.' },
      { say: 'Do you have vegetarian options?', expect: { keywords: ['vegetarian'] }, reply: 'We do: about a third of the menu is vegetarian, and there are vegan dishes too.' },
    ],
  },
}
