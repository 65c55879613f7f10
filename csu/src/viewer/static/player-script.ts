/**
 * The browser side of the player, served as /static/player.js. It is plain
 * ES2017 held in a string so that tsc, eslint and `make build` need no browser
 * configuration; it has no template placeholders and no inline handlers (the
 * CSP allows scripts from the origin only).
 *
 * Media protocol on `wss://<host>/media?session=S&camera=C` (one socket per
 * camera): a text `{"type":"init","mime":...}`, the init segment as the next
 * binary message, then one binary message per fMP4 fragment; text
 * `{"type":"session","expiresAtMs":...}` when the session is extended and
 * `{"type":"end","reason":...,"label":...}` when it ends.
 */
export const PLAYER_JS = String.raw`'use strict';
(function () {
  var root = document.getElementById('session');
  if (!root) return;
  var sessionId = root.dataset.sessionId;
  var viewerName = root.dataset.viewerName;
  var expiresAtMs = Number(root.dataset.expiresAtMs);
  var skewMs = Number(root.dataset.serverNowMs) - Date.now();
  var countdown = document.getElementById('countdown');
  var endedBox = document.getElementById('ended');
  var players = [];
  var ended = false;
  var MAX_BUFFER_SEC = 30;
  var MAX_LAG_SEC = 3;

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  function tick() {
    var now = Date.now() + skewMs;
    var left = Math.max(0, Math.floor((expiresAtMs - now) / 1000));
    var h = Math.floor(left / 3600);
    var m = Math.floor((left % 3600) / 60);
    var s = left % 60;
    if (!ended) countdown.textContent = (h > 0 ? h + ' h ' + pad(m) + ' min ' : m + ' min ') + pad(s) + ' s';
    var stamp = new Date(now).toLocaleString('fr-FR', { timeZone: 'Europe/Paris' });
    var marks = document.querySelectorAll('.watermark');
    for (var i = 0; i < marks.length; i++) marks[i].textContent = viewerName + ' · ' + stamp;
  }

  function showEnded(label) {
    if (ended) return;
    ended = true;
    endedBox.textContent = 'Transmission terminée : ' + label;
    endedBox.hidden = false;
    countdown.textContent = 'terminée';
    players.forEach(function (p) { p.stop(); });
    var form = document.getElementById('intervention-form');
    if (form) form.hidden = true;
  }

  function startPlayer(container) {
    var camera = container.dataset.camera;
    var video = container.querySelector('video');
    var status = container.parentElement.querySelector('.status');
    var mediaSource = new MediaSource();
    var sourceBuffer = null;
    var currentMime = null;
    var queue = [];
    var stopped = false;
    var ws = null;
    var player = {
      stop: function () {
        if (stopped) return;
        stopped = true;
        queue = [];
        if (ws) ws.close();
        video.pause();
        video.removeAttribute('src');
        video.load();
        container.classList.add('stopped');
        status.textContent = 'Transmission terminée';
      }
    };
    video.addEventListener('contextmenu', function (e) { e.preventDefault(); });
    video.src = URL.createObjectURL(mediaSource);
    mediaSource.addEventListener('sourceopen', function () {
      URL.revokeObjectURL(video.src);
      var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
      ws = new WebSocket(scheme + location.host + '/media?session=' + encodeURIComponent(sessionId) +
        '&camera=' + encodeURIComponent(camera));
      ws.binaryType = 'arraybuffer';
      ws.onmessage = function (ev) {
        if (stopped) return;
        if (typeof ev.data === 'string') return onControl(JSON.parse(ev.data));
        if (sourceBuffer === null) return;
        queue.push(ev.data);
        pump();
      };
      ws.onclose = function () {
        if (!stopped && !ended) status.textContent = 'Liaison avec le relais interrompue';
      };
    }, { once: true });

    function onControl(msg) {
      if (msg.type === 'init') {
        if (!MediaSource.isTypeSupported(msg.mime)) {
          status.textContent = 'Format vidéo non pris en charge par ce navigateur : ' + msg.mime;
          return;
        }
        if (sourceBuffer === null) {
          sourceBuffer = mediaSource.addSourceBuffer(msg.mime);
          // Sequence mode: fragments play back to back whatever their timestamps, so a
          // gap left by fragments the relay dropped (slow link) or a camera that
          // restarted its clock never stalls the picture.
          sourceBuffer.mode = 'sequence';
          sourceBuffer.addEventListener('updateend', onUpdated);
        } else if (msg.mime !== currentMime && typeof sourceBuffer.changeType === 'function') {
          try {
            sourceBuffer.changeType(msg.mime); // the camera came back with another profile
          } catch (err) {
            status.textContent = 'Changement de format impossible : ' + err.message;
          }
        }
        currentMime = msg.mime;
      } else if (msg.type === 'session') {
        expiresAtMs = msg.expiresAtMs;
        tick();
      } else if (msg.type === 'end') {
        showEnded(msg.label);
      }
    }

    function onUpdated() {
      if (stopped) return;
      var b = video.buffered;
      if (b.length > 0) {
        var start = b.start(0);
        var end = b.end(b.length - 1);
        // Live: join at the newest picture and never drift behind it.
        if (video.currentTime < start || end - video.currentTime > MAX_LAG_SEC) {
          video.currentTime = Math.max(start, end - 0.5);
        }
        if (video.paused) {
          video.play().catch(function (err) {
            // A seek or the end of the session interrupts play(): not worth a message.
            if (!stopped && err.name !== 'AbortError') status.textContent = 'Lecture impossible : ' + err.message;
          });
        }
        if (video.currentTime - start > MAX_BUFFER_SEC && !sourceBuffer.updating) {
          sourceBuffer.remove(start, video.currentTime - 10);
          return;
        }
      }
      pump();
    }

    function pump() {
      if (stopped || sourceBuffer === null || sourceBuffer.updating || queue.length === 0) return;
      try {
        sourceBuffer.appendBuffer(queue.shift());
      } catch (err) {
        status.textContent = 'Erreur de lecture : ' + err.message;
      }
    }
    return player;
  }

  var containers = document.querySelectorAll('.player');
  for (var i = 0; i < containers.length; i++) players.push(startPlayer(containers[i]));
  tick();
  setInterval(tick, 1000);
})();
`;
