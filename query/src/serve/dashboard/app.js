// The dashboard: reads the JSON API every few seconds and redraws in place. No library, no
// HTML built from data (every stored string goes in as textContent), nothing loaded from
// elsewhere.
'use strict';

(() => {
  const REFRESH_SECONDS = Math.max(1, Number(document.querySelector('meta[name="refresh-seconds"]').content) || 10);
  // More bars than this are summed in groups of minutes: a week is 10,080 minutes.
  const MAX_BARS = 120;
  const TOP = 10;
  const LATEST = 20;

  const $ = (id) => document.getElementById(id);
  const keywordSelect = $('keyword');
  const windowSelect = $('window');
  let busy = false;
  let keywordsLoaded = false;

  async function getJson(path) {
    const response = await fetch(path, { headers: { Accept: 'application/json' } });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      // A proxy's error page, say: the status is all there is.
    }
    if (!response.ok) {
      throw new Error(body && body.detail ? body.detail : `${response.status} ${response.statusText}`);
    }
    return body;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const number = new Intl.NumberFormat('en');
  // `2026-01-02T03:04:00Z` as `2026-01-02 03:04`.
  const shortTime = (iso) => (iso || '').replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, '');

  function fromHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    return { keyword: params.get('keyword'), window: params.get('window') };
  }

  function toHash() {
    const params = new URLSearchParams({ keyword: keywordSelect.value, window: windowSelect.value });
    history.replaceState(null, '', `#${params}`);
  }

  async function loadKeywords() {
    const keywords = await getJson('/api/keywords');
    const wanted = keywordSelect.value || fromHash().keyword;
    keywordSelect.replaceChildren(...keywords.map((k) => {
      const option = el('option', '', k.keyword);
      option.value = k.keyword;
      return option;
    }));
    if (keywords.some((k) => k.keyword === wanted)) keywordSelect.value = wanted;
    keywordSelect.disabled = false;
    keywordsLoaded = true;
  }

  function drawRate(rate) {
    $('total').textContent = number.format(rate.posts);
    $('peak').textContent = rate.peak ? `${number.format(rate.peak.posts)} at ${shortTime(rate.peak.minute)}` : '–';
    $('mean').textContent = rate.mean_per_minute.toFixed(2);
    const minutes = rate.per_minute;
    const group = Math.max(1, Math.ceil(minutes.length / MAX_BARS));
    const slots = [];
    for (let i = 0; i < minutes.length; i += group) {
      const part = minutes.slice(i, i + group);
      slots.push({ start: part[0].minute, posts: part.reduce((sum, m) => sum + m.posts, 0) });
    }
    const max = Math.max(1, ...slots.map((s) => s.posts));
    const chart = $('chart');
    chart.replaceChildren(...slots.map((slot) => {
      const bar = el('div', slot.posts ? 'slot' : 'slot zero');
      bar.style.height = `${slot.posts ? Math.max(2, (100 * slot.posts) / max) : 1}%`;
      bar.title = `${shortTime(slot.start)}: ${slot.posts} posts`;
      return bar;
    }));
    const unit = group === 1 ? 'minute' : `${group} minutes`;
    $('rate-title').textContent = `Posts per ${unit}`;
    chart.setAttribute('aria-label', `${rate.posts} posts from ${shortTime(rate.since)} to ${shortTime(rate.until)} UTC, at most ${max} per ${unit}`);
    $('axis-start').textContent = shortTime(rate.since);
    $('axis-end').textContent = shortTime(rate.until);
  }

  function drawBreakdown(id, stats) {
    const list = $(id);
    const top = stats.buckets.slice(0, TOP);
    const rest = stats.buckets.slice(TOP);
    if (rest.length) {
      const others = rest.length === 1 ? '1 other' : `${rest.length} others`;
      top.push({ key: others, posts: rest.reduce((sum, b) => sum + b.posts, 0) });
    }
    if (!top.length) {
      list.replaceChildren(el('li', 'empty', 'No posts in this window'));
      return;
    }
    const max = Math.max(1, ...top.map((b) => b.posts));
    list.replaceChildren(...top.map((bucket) => {
      const item = el('li');
      item.dataset.key = bucket.key;
      const key = el('span', 'key', bucket.key);
      key.title = bucket.key;
      const track = el('span', 'track');
      const fill = el('span', 'fill');
      fill.style.width = `${(100 * bucket.posts) / max}%`;
      track.append(fill);
      item.append(key, track, el('span', 'n', number.format(bucket.posts)));
      return item;
    }));
  }

  // Only a web link is made a link: a stored value must not become `javascript:`.
  function safeLink(link) {
    try {
      const url = new URL(link);
      return url.protocol === 'https:' ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function drawLatest(posts) {
    const list = $('latest');
    if (!posts.length) {
      list.replaceChildren(el('li', 'empty', 'No posts'));
      return;
    }
    list.replaceChildren(...posts.map((post) => {
      const item = el('li');
      item.dataset.id = post.id;
      const meta = el('div', 'meta');
      const time = el('time', '', `${shortTime(post.timestamp)} UTC`);
      time.dateTime = post.timestamp;
      meta.append(time, el('span', 'user', post.username ? `@${post.username}` : 'unknown author'));
      const href = post.link && safeLink(post.link);
      if (href) {
        const a = el('a', '', 'open');
        a.href = href;
        a.rel = 'noopener noreferrer';
        a.target = '_blank';
        a.setAttribute('aria-label', `open the post of ${shortTime(post.timestamp)} UTC`);
        meta.append(a);
      }
      item.append(meta, el('p', 'text', post.text || ''));
      return item;
    }));
  }

  function showError(message) {
    const box = $('error');
    box.hidden = !message;
    box.textContent = message || '';
  }

  async function refresh(reloadKeywords) {
    if (busy) return;
    busy = true;
    try {
      if (reloadKeywords || !keywordsLoaded) await loadKeywords();
      const keyword = keywordSelect.value;
      if (!keyword) return;
      toHash();
      const k = `keyword=${encodeURIComponent(keyword)}`;
      const rate = await getJson(`/api/rate?${k}&since=${Number(windowSelect.value)}m`);
      // The breakdowns over the very window the rate counted, so their numbers add up to its.
      const q = `${k}&since=${encodeURIComponent(rate.since)}&until=${encodeURIComponent(rate.until)}`;
      const [lang, country, hashtag, latest] = await Promise.all([
        getJson(`/api/stats?${q}&by=lang`),
        getJson(`/api/stats?${q}&by=country`),
        getJson(`/api/stats?${q}&by=hashtag`),
        getJson(`/api/posts?${k}&count=${LATEST}`),
      ]);
      drawRate(rate);
      drawBreakdown('by-lang', lang);
      drawBreakdown('by-country', country);
      drawBreakdown('by-hashtag', hashtag);
      drawLatest(latest);
      showError(null);
      const now = new Date().toISOString();
      $('updated').textContent = `Updated ${shortTime(now)}:${now.slice(17, 19)} UTC; refreshes every ${REFRESH_SECONDS} s`;
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    } catch (error) {
      showError(error.message);
    } finally {
      busy = false;
    }
  }

  const initial = fromHash();
  if (initial.window && [...windowSelect.options].some((o) => o.value === initial.window)) {
    windowSelect.value = initial.window;
  }
  keywordSelect.addEventListener('change', () => refresh(false));
  windowSelect.addEventListener('change', () => refresh(false));
  $('refresh').addEventListener('click', () => refresh(true));
  refresh(true);
  setInterval(() => refresh(false), REFRESH_SECONDS * 1000);
})();
