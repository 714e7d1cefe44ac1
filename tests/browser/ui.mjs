// Drives the tap's web UI in headless Chromium, as a person would: the
// session list (filter), a session's page (timeline, phases), marking a
// phase, stopping the session and replaying it, with a screenshot of each
// step. tests/e2e/ui.rs starts the tap and a receiver, runs this, and checks
// what the store and the receiver hold afterwards.
//
// Settings come from the environment: UI_BASE (the tap), UI_SESSION (the
// active session to click through), UI_OTHER (a stopped session the filter
// hides), UI_RECEIVER (the replay's endpoint), UI_SHOTS (screenshot folder),
// UI_TOKEN (set when the tap wants a control token), CHROMIUM (the browser).
// Prints one JSON line of what it saw.
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env('UI_BASE');
const session = env('UI_SESSION');
const shots = env('UI_SHOTS');
const token = process.env.UI_TOKEN || '';
const timeout = 15000;

// Flags as Debian's Chromium needs them on a machine without a network or a display.
const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  timeout,
});
const seen = { requests: [], consoleErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  page.setDefaultTimeout(timeout);
  page.on('console', (message) => { if (message.type() === 'error') seen.consoleErrors.push(message.text()); });
  page.on('request', (request) => seen.requests.push(new URL(request.url()).origin));
  await page.goto(`${base}/ui`);

  if (token) {
    // Without the token the API refuses and the page asks for it.
    await page.locator('#token-form').waitFor({ state: 'visible' });
    seen.askedForToken = true;
    await page.screenshot({ path: `${shots}/token.png` });
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
  }

  // The list: both sessions, then the filter leaves the active one.
  const row = (id) => page.locator(`#sessions tr[data-session="${id}"]`);
  await row(session).waitFor();
  if (process.env.UI_OTHER) {
    await row(process.env.UI_OTHER).waitFor();
    seen.listed = await page.locator('#sessions tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.session));
    await page.fill('#filter-prefix', session.slice(0, 4));
    await row(process.env.UI_OTHER).waitFor({ state: 'detached' });
    seen.filtered = await page.locator('#sessions tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.session));
  }
  seen.listStatus = await row(session).locator('.status').textContent();
  await page.screenshot({ path: `${shots}/sessions.png` });

  // The session: its timeline has spans, its phases are bands.
  await row(session).locator('a').click();
  await page.locator('#timeline path.series.traces').waitFor();
  seen.legend = await page.locator('#legend').textContent();
  seen.bandsBefore = await page.locator('#timeline .band-label').allTextContents();

  // Mark a phase now: it appears in the list and as a band.
  await page.fill('#phase-name', 'anomaly');
  await page.fill('#phase-value', '{"flag": "paymentServiceFailure"}');
  await page.click('#phase-form button[type=submit]');
  await page.locator('#timeline .band-label', { hasText: 'anomaly' }).waitFor();
  seen.bandsAfter = await page.locator('#timeline .band-label').allTextContents();
  const box = await page.locator('#timeline svg').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  seen.readout = await page.locator('#readout').textContent();
  await page.screenshot({ path: `${shots}/session.png`, fullPage: true });

  // Stop it, then replay it at full speed into the receiver and watch it finish.
  await page.click('#stop');
  await page.locator('.session-header .status.completed').waitFor();
  await page.fill('#replay-endpoint', env('UI_RECEIVER'));
  await page.selectOption('#replay-timestamps', 'relative');
  await page.fill('#replay-speed', 'max');
  await page.click('#replay-form button[type=submit]');
  await page.locator('#replays tr[data-state="completed"]').waitFor();
  seen.replayProgress = await page.locator('#replays tr[data-state="completed"] td:nth-child(4)').textContent();
  await page.screenshot({ path: `${shots}/replay.png`, fullPage: true });

  // A stored session with phases: its chart, for the README too.
  if (process.env.UI_OTHER) {
    await page.goto(`${base}/ui#/sessions/${encodeURIComponent(process.env.UI_OTHER)}`);
    await page.locator('#timeline path.series.traces').waitFor();
    await page.locator('#timeline .band-label', { hasText: 'recovery' }).waitFor();
    seen.storedLegend = await page.locator('#legend').textContent();
    seen.storedBands = await page.locator('#timeline .band-label').allTextContents();
    const chart = await page.locator('#timeline svg').boundingBox();
    await page.mouse.move(chart.x + chart.width / 2, chart.y + chart.height / 2);
    await page.screenshot({ path: `${shots}/stored-session.png`, fullPage: true });
  }

  seen.localStorageKeys = await page.evaluate(() => Object.keys(localStorage));
  seen.sessionStorageKeys = await page.evaluate(() => Object.keys(sessionStorage));
  seen.cookies = (await page.context().cookies()).length;
  seen.origins = [...new Set(seen.requests)];
  delete seen.requests;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
