// MUSHRA test page of prosody_plugin (prosody_plugin/listening/mushra.py writes the page
// around this script). No network: the stimuli are files beside the page; the ratings stay
// in this browser (localStorage) until the listener downloads them as CSV.
(function () {
  'use strict';
  var design = JSON.parse(document.getElementById('design').textContent);
  var STORE = 'prosody_plugin.mushra/' + design.test_id + '/' + design.design_hash + '/';
  var LISTENER_ID = /^[\w .@-]{1,64}$/;

  // --- the listener's order: one of the design's (mushra.py draws them), picked by a hash of the ID ---
  function fnv1a32(text) {
    var bytes = new TextEncoder().encode(text);
    var h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
    }
    return h >>> 0;
  }
  function listenerOrder(listener) {
    return design.orders[fnv1a32(listener) % design.orders.length].map(function (trial) {
      return { id: design.trials[trial[0]], conditions: trial[1].map(function (c) { return design.conditions[c]; }) };
    });
  }

  // --- state ---
  var state = null;     // {listener, position, trials: {id: {ratings, played, moved, seconds}}, finished_at}
  var shownAt = null;   // when the current trial was shown (ms)
  var order = null;

  function save() {
    try { window.localStorage.setItem(STORE + state.listener, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function load(listener) {
    try { return JSON.parse(window.localStorage.getItem(STORE + listener) || 'null'); } catch (e) { return null; }
  }
  function section(id) { return document.querySelector('section.trial[data-trial="' + CSS.escape(id) + '"]'); }
  function slotName(i) { return String.fromCharCode(65 + i); }

  // Arrange every trial's rows in the listener's order and name the slots A, B, C, ...
  function arrange() {
    order.forEach(function (trial) {
      var sec = section(trial.id);
      var tbody = sec.querySelector('tbody');
      var record = state.trials[trial.id];
      trial.conditions.forEach(function (condition, i) {
        var row = tbody.querySelector('tr[data-condition="' + CSS.escape(condition) + '"]');
        tbody.appendChild(row);
        row.querySelector('th.slot').textContent = slotName(i);
        var slider = row.querySelector('input.rating');
        slider.setAttribute('aria-label', 'Rating of sample ' + slotName(i));
        row.querySelector('audio').setAttribute('aria-label', 'Sample ' + slotName(i));
        if (record.moved[condition]) {
          slider.value = record.ratings[condition];
          row.querySelector('output').textContent = record.ratings[condition];
        }
        row.classList.toggle('played', !!record.played[condition]);
      });
    });
  }

  function pauseAll() { document.querySelectorAll('audio').forEach(function (a) { a.pause(); }); }

  function show(position) {
    pauseAll();
    document.getElementById('intro').hidden = true;
    document.querySelectorAll('section.trial').forEach(function (s) { s.hidden = true; });
    if (position >= order.length) { finish(); return; }
    var sec = section(order[position].id);
    sec.querySelector('.position').textContent = String(position + 1);
    sec.querySelector('.status').textContent = '';
    sec.hidden = false;
    shownAt = Date.now();
    window.scrollTo(0, 0);
  }

  function start() {
    var input = document.getElementById('listener');
    var listener = input.value.trim();
    var status = document.getElementById('intro-status');
    if (!LISTENER_ID.test(listener)) {
      status.textContent = 'Enter a listener ID (letters, digits, spaces, . _ @ -).';
      input.focus();
      return;
    }
    order = listenerOrder(listener);
    state = load(listener);
    if (!state) {
      state = { listener: listener, position: 0, trials: {}, finished_at: null };
      order.forEach(function (t) { state.trials[t.id] = { ratings: {}, played: {}, moved: {}, seconds: 0 }; });
    }
    arrange();
    show(state.position);
  }

  function next(event) {
    var sec = event.target.closest('section.trial');
    var id = sec.getAttribute('data-trial');
    var record = state.trials[id];
    var trial = order[state.position];
    var missing = [];
    trial.conditions.forEach(function (condition, i) {
      if ((design.require_play && !record.played[condition]) || !record.moved[condition]) { missing.push(slotName(i)); }
    });
    if (missing.length) {
      sec.querySelector('.status').textContent = (design.require_play ? 'Play every sample and set its rating' : 'Set every rating') +
        ' before going on (missing: ' + missing.join(', ') + ').';
      return;
    }
    record.seconds += (Date.now() - shownAt) / 1000;
    state.position += 1;
    save();
    show(state.position);
  }

  function csvCell(value) {
    var text = String(value);
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function resultsCsv() {
    var lines = [design.columns.join(',')];
    order.forEach(function (trial, position) {
      var record = state.trials[trial.id];
      trial.conditions.forEach(function (condition, i) {
        var row = {
          test_id: design.test_id, design_hash: design.design_hash, listener: state.listener,
          trial_position: position + 1, trial_id: trial.id, condition: condition, slot: slotName(i),
          rating: record.ratings[condition], played: record.played[condition] ? 1 : 0,
          seconds: record.seconds.toFixed(1), finished_at: state.finished_at
        };
        lines.push(design.columns.map(function (c) { return csvCell(row[c]); }).join(','));
      });
    });
    return lines.join('\n') + '\n';
  }

  function finish() {
    if (!state.finished_at) { state.finished_at = new Date().toISOString(); save(); }
    document.getElementById('done').hidden = false;
    document.getElementById('csv').value = resultsCsv();
  }

  function download() {
    var blob = new Blob([resultsCsv()], { type: 'text/csv' });
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'mushra_' + design.test_id + '_' + state.listener.replace(/[^\w.@-]/g, '_') + '.csv';
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  // --- wiring ---
  document.addEventListener('play', function (event) {
    document.querySelectorAll('audio').forEach(function (a) { if (a !== event.target) { a.pause(); } });
    var row = event.target.closest('tr[data-condition]');
    if (row && state) {
      var id = row.closest('section.trial').getAttribute('data-trial');
      state.trials[id].played[row.getAttribute('data-condition')] = true;
      row.classList.add('played');
    }
  }, true);
  document.querySelectorAll('input.rating').forEach(function (slider) {
    slider.addEventListener('input', function () {
      var row = slider.closest('tr[data-condition]');
      var id = row.closest('section.trial').getAttribute('data-trial');
      var condition = row.getAttribute('data-condition');
      var record = state.trials[id];
      record.ratings[condition] = Number(slider.value);
      record.moved[condition] = true;
      row.querySelector('output').textContent = slider.value;
    });
  });
  document.querySelectorAll('button.next').forEach(function (b) { b.addEventListener('click', next); });
  document.getElementById('start').addEventListener('click', start);
  document.getElementById('listener').addEventListener('keydown', function (e) { if (e.key === 'Enter') { start(); } });
  document.getElementById('download').addEventListener('click', download);

  window.prosodyMushra = { listenerOrder: listenerOrder, resultsCsv: function () { return state ? resultsCsv() : null; } };
})();
