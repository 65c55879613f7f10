/** The viewer's stylesheet, served as /static/viewer.css (no inline styles: the CSP forbids them). */
export const VIEWER_CSS = `* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, sans-serif; background: #111; color: #eee; }
a { color: #8cf; }
header { display: flex; gap: 1rem; align-items: center; padding: 0.5rem 1rem; background: #223; }
header .brand { font-weight: bold; text-decoration: none; }
header .who { margin-left: auto; }
main { padding: 1rem; }
.login { max-width: 24rem; margin: 3rem auto; }
.login form { display: grid; gap: 0.5rem; }
.error { color: #f88; font-weight: bold; }
table.sessions { border-collapse: collapse; width: 100%; }
table.sessions th, table.sessions td { border-bottom: 1px solid #444; padding: 0.4rem; text-align: left; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.facts dt { color: #aaa; }
#countdown { font-variant-numeric: tabular-nums; font-weight: bold; }
.ended { font-size: 1.3rem; font-weight: bold; color: #fc6; }
.players { display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: 1rem; }
.player { position: relative; background: #000; aspect-ratio: 16 / 9; overflow: hidden; user-select: none; }
.player video { width: 100%; height: 100%; display: block; }
.player.stopped video { visibility: hidden; }
.watermark { position: absolute; left: 0; right: 0; top: 45%; text-align: center; pointer-events: none;
  font-size: 1.4rem; font-weight: bold; color: rgba(255, 255, 255, 0.45);
  text-shadow: 0 0 3px rgba(0, 0, 0, 0.8); transform: rotate(-12deg); z-index: 2; }
#intervention-form { margin-top: 1.5rem; display: flex; gap: 0.5rem; align-items: center; }
#intervention-over { background: #b33; color: #fff; border: 0; padding: 0.6rem 1.2rem; font-size: 1rem; }
`;
