// Drives OpenAI's Batch API on a running sluice with the official `openai`
// npm package: upload a JSONL file, create a batch, poll it to completed,
// download its output and error files; a file with bad lines fails with
// their line numbers; bad parameters are 400s naming them; another tenant
// sees none of it (404). The gateway's clock is manual (POST /admin/clock):
// a batch is cancelled while it waits for off-peak prices, another expires
// when the clock passes its 24 h window, and one submitted at peak prices
// runs in the next off-peak window and reports the saving, while one that
// could not wait for it ran at once.
//
// The gateway's config: deepseek-chat at $1/$2 per Mtok, $0.5/$1 from 16:30
// to 00:30 UTC; jobs.batch_finish_reserve 20h (a batch may wait at most 4 h).
//
// Environment: SLUICE_OPENAI_SDK_DIR, SLUICE_BASE_URL (…/v1),
// SLUICE_API_KEY, SLUICE_OTHER_KEY (another tenant), SLUICE_ADMIN_KEY,
// SLUICE_MODEL (optional).
import { harness } from './harness.mjs';

const { env, require, OpenAI, seen, check, part, thrown, finish } = harness('batch_compat');
const { toFile } = require('openai');

const baseURL = env('SLUICE_BASE_URL');
const origin = baseURL.replace(/\/v1\/?$/, '');
const model = env('SLUICE_MODEL', 'deepseek-chat');
const adminKey = env('SLUICE_ADMIN_KEY');
const client = (apiKey) => new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
const demo = client(env('SLUICE_API_KEY'));
const other = client(env('SLUICE_OTHER_KEY'));

const utc = (day, hour, minute) => Date.UTC(2026, 11, day, hour, minute) / 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const setClock = async (unixSeconds) => {
  const response = await fetch(`${origin}/admin/clock`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ unix_seconds: unixSeconds }),
  });
  if (!response.ok) throw new Error(`clock: HTTP ${response.status} ${await response.text()}`);
};

const line = (customId, content, lineModel = model) => JSON.stringify({
  custom_id: customId,
  method: 'POST',
  url: '/v1/chat/completions',
  body: { model: lineModel, messages: [{ role: 'user', content }], max_tokens: 16 },
});
const upload = async (lines, name = 'batch.jsonl') => demo.files.create({
  file: await toFile(Buffer.from(`${lines.join('\n')}\n`), name),
  purpose: 'batch',
});
const create = (file, extra = {}) => demo.batches.create({
  input_file_id: file.id,
  endpoint: '/v1/chat/completions',
  completion_window: '24h',
  ...extra,
});
// Polls a batch until its status is one of `statuses` (60 s at most).
const until = async (id, statuses) => {
  const deadline = Date.now() + 60_000;
  let batch;
  do {
    batch = await demo.batches.retrieve(id);
    if (statuses.includes(batch.status)) return batch;
    await sleep(100);
  } while (Date.now() < deadline);
  throw new Error(`batch ${id} still ${batch.status}, waiting for ${statuses}`);
};
const linesOf = async (fileId) => {
  if (!fileId) return [];
  const text = await (await demo.files.content(fileId)).text();
  return text.trim().split('\n').map((l) => JSON.parse(l));
};

// At peak prices, with a window the next off-peak hours do not fit in:
// runs at once. One line names an unknown model and fails on its own.
await part('lifecycle', async () => {
  await setClock(utc(10, 10, 0));
  const input = [line('a', 'first'), line('b', 'second'), line('c', 'third'),
                 line('d', 'fourth', 'no-such-model')];
  const file = await upload(input, 'lifecycle.jsonl');
  const bytes = Buffer.byteLength(`${input.join('\n')}\n`);
  check(file.id?.startsWith('file-'), 'file: id', file.id);
  check(file.object === 'file' && file.purpose === 'batch', 'file: object, purpose', file);
  check(file.bytes === bytes, 'file: bytes', [file.bytes, bytes]);
  check(file.filename === 'lifecycle.jsonl', 'file: filename', file.filename);
  const again = await demo.files.retrieve(file.id);
  check(again.id === file.id && again.bytes === bytes, 'files.retrieve', again);
  const echoed = await (await demo.files.content(file.id)).text();
  check(echoed === `${input.join('\n')}\n`, 'files.content gives the upload back');

  const created = await create(file, { metadata: { team: 'search' } });
  check(created.object === 'batch' && created.id?.startsWith('batch_'), 'batch: id', created);
  check(created.status === 'validating', 'batch: validating at first', created.status);
  check(created.endpoint === '/v1/chat/completions', 'batch: endpoint', created.endpoint);
  check(created.completion_window === '24h', 'batch: window', created.completion_window);
  check(created.metadata?.team === 'search', 'batch: metadata', created.metadata);
  check(created.created_at === utc(10, 10, 0), 'batch: created_at is the clock', created.created_at);
  check(created.expires_at === created.created_at + 86400, 'batch: expires_at', created.expires_at);

  const done = await until(created.id, ['completed', 'failed']);
  seen.lifecycle = { id: done.id, request_counts: done.request_counts, sluice: done.sluice };
  check(done.status === 'completed', 'batch: completed', done);
  check(done.request_counts.total === 4 && done.request_counts.completed === 3 &&
        done.request_counts.failed === 1, 'batch: request_counts', done.request_counts);
  check(done.in_progress_at && done.finalizing_at && done.completed_at, 'batch: *_at', done);
  check(done.sluice?.run_after === done.created_at, 'batch: ran at once (cannot wait)', done.sluice);
  check(done.sluice?.cost_usd > 0 && done.sluice?.saving_usd === 0, 'batch: cost, no saving',
        done.sluice);
  check(done.usage?.input_tokens > 0 && done.usage?.output_tokens > 0, 'batch: usage', done.usage);

  const output = await linesOf(done.output_file_id);
  check(output.map((l) => l.custom_id).join() === 'a,b,c', 'output: lines a, b, c in order',
        output.map((l) => l.custom_id));
  for (const l of output) {
    check(l.response?.status_code === 200 && l.error === null, 'output: 200', l);
    check(typeof l.response?.body?.choices?.[0]?.message?.content === 'string' &&
          l.response.body.choices[0].message.content !== '', 'output: content', l);
    check(l.id?.startsWith('batch_req_') && l.response?.request_id, 'output: ids', l);
  }
  const errors = await linesOf(done.error_file_id);
  check(errors.length === 1 && errors[0].custom_id === 'd', 'errors: line d', errors);
  check(errors[0]?.response?.status_code === 404 &&
        errors[0]?.response?.body?.error?.code === 'model_not_found', 'errors: 404', errors[0]);

  const page = await demo.batches.list({ limit: 1 });
  check(page.data.length === 1 && page.data[0].id === created.id, 'list: newest first', page.data);
  check(page.has_more === false || page.hasNextPage() === false, 'list: one batch so far');

  // Another tenant: nothing of it exists.
  const notBatch = await thrown(() => other.batches.retrieve(created.id));
  check(notBatch instanceof OpenAI.NotFoundError, 'other tenant: batch 404', notBatch?.status);
  const notFile = await thrown(() => other.files.retrieve(file.id));
  check(notFile instanceof OpenAI.NotFoundError, 'other tenant: file 404', notFile?.status);
  const notContent = await thrown(() => other.files.content(done.output_file_id));
  check(notContent instanceof OpenAI.NotFoundError, 'other tenant: content 404', notContent?.status);
  const notCancel = await thrown(() => other.batches.cancel(created.id));
  check(notCancel instanceof OpenAI.NotFoundError, 'other tenant: cancel 404', notCancel?.status);
  const otherList = await other.batches.list();
  check(otherList.data.length === 0, 'other tenant: lists none', otherList.data);
});

await part('invalid file', async () => {
  const file = await upload([
    line('ok', 'fine'),
    'not json',
    line('ok', 'the same custom_id again'),
    JSON.stringify({ custom_id: 'get', method: 'GET', url: '/v1/chat/completions', body: {} }),
    JSON.stringify({ custom_id: 'no-messages', method: 'POST', url: '/v1/chat/completions',
                     body: { model } }),
  ]);
  const batch = await until((await create(file)).id, ['failed', 'completed']);
  const errors = batch.errors?.data ?? [];
  seen.invalid = errors;
  check(batch.status === 'failed' && batch.failed_at, 'invalid: failed', batch.status);
  check(errors.map((e) => e.line).join() === '2,3,4,5', 'invalid: lines 2-5', errors);
  check(errors[1]?.code === 'duplicate_custom_id', 'invalid: duplicate custom_id', errors[1]);
  check(batch.request_counts.total === 0, 'invalid: no request counted', batch.request_counts);
});

await part('bad parameters', async () => {
  const file = await upload([line('x', 'x')]);
  const cases = [
    [{ endpoint: '/v1/embeddings' }, 'endpoint'],
    [{ completion_window: '1h' }, 'completion_window'],
    [{ input_file_id: 'file-nope' }, 'input_file_id'],
    [{ metadata: { n: 1 } }, 'metadata'],
  ];
  for (const [change, param] of cases) {
    const err = await thrown(() => create(file, change));
    check(err instanceof OpenAI.BadRequestError && err.param === param,
          `bad parameters: 400 naming ${param}`, [err?.status, err?.param, err?.message]);
  }
  const purpose = await thrown(async () => demo.files.create({
    file: await toFile(Buffer.from('{}\n'), 'x.jsonl'), purpose: 'fine-tune' }));
  check(purpose instanceof OpenAI.BadRequestError && purpose.param === 'purpose',
        'bad parameters: purpose', [purpose?.status, purpose?.param]);
});

// Peak prices, and the off-peak window fits: the batch waits for it.
await part('cancel while waiting', async () => {
  await setClock(utc(10, 13, 0));
  const file = await upload([line('c1', 'one'), line('c2', 'two'), line('c3', 'three')]);
  const waiting = await until((await create(file)).id, ['in_progress']);
  check(waiting.sluice?.run_after === utc(10, 16, 30), 'cancel: waits for 16:30',
        waiting.sluice);
  const cancelling = await demo.batches.cancel(waiting.id);
  check(['cancelling', 'cancelled'].includes(cancelling.status) && cancelling.cancelling_at,
        'cancel: cancelling', cancelling.status);
  const cancelled = await until(waiting.id, ['cancelled']);
  check(cancelled.cancelled_at && cancelled.output_file_id === null, 'cancel: cancelled', cancelled);
  check(cancelled.request_counts.failed === 3 && cancelled.request_counts.completed === 0,
        'cancel: every line failed', cancelled.request_counts);
  const errors = await linesOf(cancelled.error_file_id);
  check(errors.length === 3 && errors.every((e) => e.error?.code === 'batch_cancelled' &&
        e.response === null), 'cancel: error file', errors);
  const again = await thrown(() => demo.batches.cancel(waiting.id));
  check(again instanceof OpenAI.BadRequestError, 'cancel: a cancelled batch cannot be', again?.status);
});

await part('expired', async () => {
  await setClock(utc(10, 13, 0));
  const file = await upload([line('e1', 'one'), line('e2', 'two')]);
  const waiting = await until((await create(file)).id, ['in_progress']);
  await setClock(utc(11, 14, 0));  // past created_at + 24 h
  const expired = await until(waiting.id, ['expired']);
  check(expired.expired_at === utc(11, 14, 0), 'expired: expired_at', expired.expired_at);
  check(expired.request_counts.failed === 2, 'expired: every line failed', expired.request_counts);
  const errors = await linesOf(expired.error_file_id);
  check(errors.length === 2 && errors.every((e) => e.error?.code === 'batch_expired'),
        'expired: error file', errors);
});

await part('off-peak', async () => {
  await setClock(utc(11, 14, 0));
  const file = await upload([line('o1', 'one'), line('o2', 'two')]);
  const waiting = await until((await create(file)).id, ['in_progress']);
  check(waiting.sluice?.run_after === utc(11, 16, 30), 'off-peak: waits for 16:30', waiting.sluice);
  check(waiting.request_counts.completed === 0, 'off-peak: nothing ran yet', waiting.request_counts);
  await setClock(utc(11, 16, 31));
  const done = await until(waiting.id, ['completed']);
  seen.off_peak = { request_counts: done.request_counts, sluice: done.sluice };
  check(done.request_counts.completed === 2, 'off-peak: both lines', done.request_counts);
  const { cost_usd: cost, cost_at_submission_usd: atSubmission, saving_usd: saving } = done.sluice;
  // Each line is rounded to a micro-dollar at each price: 1 µUSD per line.
  check(cost > 0 && Math.abs(atSubmission - 2 * cost) <= 2.5e-6,
        'off-peak: half the price of submission time', done.sluice);
  check(Math.abs(saving - (atSubmission - cost)) < 1e-9, 'off-peak: saving', done.sluice);
});

finish();
