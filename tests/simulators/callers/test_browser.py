from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from simulators.callers.audio import pad, speech_pcm, write_wav
from simulators.callers.browser import BASE_ARGS, BrowserCaller, loopback_only_ice
from simulators.callers.server import serve_app

PAGE = """<!doctype html><html><head><title>mic test</title></head><body>
<div id="status">idle</div><script>
window.maxRms = 0;
(async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  document.getElementById("status").innerText = "mic ok: " + stream.getAudioTracks()[0].label;
  setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    window.maxRms = Math.max(window.maxRms, Math.sqrt(sum / buf.length));
  }, 50);
})().catch((e) => { document.getElementById("status").innerText = "error: " + e; });
</script></body></html>"""


async def test_fake_mic_reaches_getusermedia(tmp_path):
    app = FastAPI()

    @app.get("/")
    async def index() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.get("/favicon.ico")
    async def favicon() -> Response:
        return Response(status_code=204)

    wav = write_wav(tmp_path / "mic.wav", pad(speech_pcm("hello there", 16000), 16000, 0.2, 0.2),
                    16000)
    async with serve_app(app) as base, BrowserCaller(wav) as browser:
        assert f"--use-file-for-fake-audio-capture={wav}" in browser.args
        await browser.open(base + "/")
        await browser.wait_for_text("mic ok")
        assert "Fake" in await browser.text("#status")
        level = await browser.wait_for_function("window.maxRms > 0.005 && window.maxRms")
        assert level > 0.005
        assert await browser.evaluate("document.title") == "mic test"
    assert browser._profile is None  # profile directory removed on close
    assert not any(line.startswith("pageerror") for line in browser.console)


def test_browser_flags_and_loopback_ice(tmp_path):
    caller = BrowserCaller(tmp_path / "x.wav", loop=False)
    assert caller.args[-1].endswith("x.wav%noloop")
    assert "--allow-loopback-in-peer-connection" in BASE_ARGS

    import aioice.ice

    original = aioice.ice.get_host_addresses
    restore = loopback_only_ice()
    try:
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1"]
    finally:
        restore()
    assert aioice.ice.get_host_addresses is original
