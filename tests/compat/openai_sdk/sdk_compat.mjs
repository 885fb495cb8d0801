// Drives the official `openai` npm package against a running sluice and
// checks what the SDK makes of its answers: a chat completion, a stream with
// include_usage, and the SDK's error classes for a bad key (401), a rate
// limit (429 with Retry-After) and bad input (400 naming the parameter).
// Prints one JSON object of what it saw on stdout; exits 1 when a check
// failed (each failure is listed under "failures" and on stderr).
//
// Environment:
//   SLUICE_OPENAI_SDK_DIR  where `npm ci` installed package.json's packages
//   SLUICE_BASE_URL        e.g. http://127.0.0.1:8080/v1
//   SLUICE_API_KEY         a key without limits
//   SLUICE_LIMITED_KEY     a key whose tenant allows SLUICE_LIMITED_RPM
//                          requests a minute, none spent yet
//   SLUICE_BAD_KEY         a key the gateway does not know
//   SLUICE_MODEL, SLUICE_PROMPT, SLUICE_STREAM_PROMPT (optional)
import { harness } from './harness.mjs';

const { env, OpenAI, seen, check, part, thrown, finish } = harness('sdk_compat');

const baseURL = env('SLUICE_BASE_URL');
const model = env('SLUICE_MODEL', 'deepseek-chat');
const prompt = env('SLUICE_PROMPT', 'What is a sluice gate?');
const streamPrompt = env('SLUICE_STREAM_PROMPT', 'Stream me a sluice story');
const limitedRpm = Number(env('SLUICE_LIMITED_RPM', '2'));

// maxRetries 0: the SDK would otherwise retry 429s itself.
const client = (apiKey) => new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
const demo = client(env('SLUICE_API_KEY'));
const ask = (content) => ({ model, messages: [{ role: 'user', content }] });

const isCount = (n) => Number.isInteger(n) && n >= 0;

await part('chat', async () => {
  const { data, response } = await demo.chat.completions.create(ask(prompt)).withResponse();
  const choice = data.choices?.[0];
  seen.chat = {
    id: data.id,
    object: data.object,
    content: choice?.message?.content,
    finish_reason: choice?.finish_reason,
    usage: data.usage,
    request_id: response.headers.get('x-request-id'),
  };
  check(typeof data.id === 'string' && data.id !== '', 'chat: id', data.id);
  check(data.object === 'chat.completion', 'chat: object', data.object);
  check(Number.isInteger(data.created), 'chat: created', data.created);
  check(typeof data.model === 'string' && data.model !== '', 'chat: model', data.model);
  check(data.choices?.length === 1 && choice.index === 0, 'chat: one choice, index 0', data.choices);
  check(choice?.message?.role === 'assistant', 'chat: role', choice?.message?.role);
  check(typeof choice?.message?.content === 'string' && choice.message.content !== '',
        'chat: content', choice?.message?.content);
  check(choice?.finish_reason === 'stop', 'chat: finish_reason', choice?.finish_reason);
  const u = data.usage;
  check(u && isCount(u.prompt_tokens) && isCount(u.completion_tokens) &&
        u.total_tokens === u.prompt_tokens + u.completion_tokens && u.total_tokens > 0,
        'chat: usage', u);
  check(!!seen.chat.request_id, 'chat: x-request-id header');
});

await part('stream', async () => {
  const stream = await demo.chat.completions.create({
    ...ask(streamPrompt), stream: true, stream_options: { include_usage: true },
  });
  let text = '', chunks = 0, finish = null, usage = null, usageChunks = 0, ids = new Set();
  let last = null;
  for await (const chunk of stream) {
    ++chunks;
    last = chunk;
    ids.add(chunk.id);
    check(chunk.object === 'chat.completion.chunk', 'stream: chunk object', chunk.object);
    for (const choice of chunk.choices) {
      if (typeof choice.delta?.content === 'string') text += choice.delta.content;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (chunk.usage) {
      usage = chunk.usage;
      ++usageChunks;
    }
  }
  seen.stream = { text, chunks, finish_reason: finish, usage };
  check(text !== '', 'stream: no text');
  check(finish === 'stop', 'stream: finish_reason', finish);
  check(ids.size === 1, 'stream: one id across chunks', [...ids]);
  // include_usage: the last chunk has no choices and the usage; no other
  // chunk has usage.
  check(last && last.choices.length === 0 && last.usage?.total_tokens > 0,
        'stream: last chunk is the usage chunk', last);
  check(usageChunks === 1, 'stream: chunks with usage', usageChunks);
});

// The SDK's stream helper accumulates the chunks into a completion, as
// applications using it see the answer.
await part('stream_helper', async () => {
  const runner = demo.beta.chat.completions.stream(ask(streamPrompt));
  const completion = await runner.finalChatCompletion();
  seen.stream_helper = { content: completion.choices[0]?.message?.content };
  check(completion.choices[0]?.message?.content === seen.stream?.text,
        'stream helper: content equals the streamed text', seen.stream_helper);
});

await part('bad_key', async () => {
  const err = await thrown(() => client(env('SLUICE_BAD_KEY')).chat.completions.create(ask(prompt)));
  seen.bad_key = { class: err?.constructor?.name, status: err?.status, type: err?.type, code: err?.code };
  check(err instanceof OpenAI.AuthenticationError, 'bad key: AuthenticationError', seen.bad_key);
  check(err?.status === 401, 'bad key: status', err?.status);
  check(err?.code === 'invalid_api_key', 'bad key: code', err?.code);
  check(!String(err?.message).includes(env('SLUICE_BAD_KEY')), 'bad key: message echoes the key');
});

await part('bad_input', async () => {
  seen.bad_input = [];
  for (const [param, body] of [
    ['messages', { model, messages: [] }],
    ['temperature', { ...ask(prompt), temperature: 'hot' }],
  ]) {
    const err = await thrown(() => demo.chat.completions.create(body));
    const got = { class: err?.constructor?.name, status: err?.status, type: err?.type, param: err?.param };
    seen.bad_input.push(got);
    check(err instanceof OpenAI.BadRequestError, `bad ${param}: BadRequestError`, got);
    check(err?.status === 400, `bad ${param}: status`, got.status);
    check(err?.type === 'invalid_request_error', `bad ${param}: type`, got.type);
    check(err?.param === param, `bad ${param}: param`, got.param);
  }
});

await part('models', async () => {
  const ids = [];
  for await (const m of demo.models.list()) {
    ids.push(m.id);
    check(m.object === 'model' && typeof m.owned_by === 'string' && Number.isInteger(m.created),
          'models: entry shape', m);
  }
  seen.models = ids;
  check(ids.includes(model), `models: lists ${model}`, ids);
});

// Last, so that the caller can go on spending the same limit at once.
await part('rate_limit', async () => {
  const limited = client(env('SLUICE_LIMITED_KEY'));
  const admitted = [];
  for (let i = 0; i < limitedRpm; ++i) {
    const c = await limited.chat.completions.create(ask(prompt));
    admitted.push(c.choices[0]?.message?.content);
  }
  const err = await thrown(() => limited.chat.completions.create(ask(prompt)));
  const headers = err?.headers ?? {};
  const ratelimit = Object.fromEntries(
    Object.entries(headers).filter(([k]) => k.startsWith('x-ratelimit-')));
  seen.rate_limit = {
    admitted: admitted.length,
    class: err?.constructor?.name,
    status: err?.status,
    type: err?.type,
    code: err?.code,
    retry_after: headers['retry-after'],
    headers: ratelimit,
  };
  check(admitted.every((text) => text === seen.chat?.content),
        'rate limit: admitted answers equal the chat answer', admitted);
  check(err instanceof OpenAI.RateLimitError, 'rate limit: RateLimitError', seen.rate_limit);
  check(err?.status === 429, 'rate limit: status', err?.status);
  check(err?.type === 'rate_limit_error', 'rate limit: type', err?.type);
  check(Number(headers['retry-after']) > 0, 'rate limit: retry-after', headers['retry-after']);
  check(headers['x-ratelimit-limit-requests'] === String(limitedRpm),
        'rate limit: x-ratelimit-limit-requests', ratelimit);
  check(headers['x-ratelimit-remaining-requests'] === '0',
        'rate limit: x-ratelimit-remaining-requests', ratelimit);
  check(!!headers['x-ratelimit-reset-requests'], 'rate limit: x-ratelimit-reset-requests', ratelimit);
});

finish();
