using System.Globalization;
using StarKv.GpuWorker.Actions;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.SyntheticScreens;
using TorchSharp;

// The built-in tiny model has random weights: its replies are gibberish, but every step runs the real pipeline
// (preprocessing, vision encoder, chat template, M-RoPE, prefill, per-layer STaR-KV compression, greedy decoding).
const int Steps = 5;
const int Seed = 7;
var culture = CultureInfo.InvariantCulture;
var cacheFolder = Path.Combine(Path.GetTempPath(), "starkv-tiny-model");
using var runtime = Qwen25VlRuntime.LoadBuiltInTiny(cacheFolder, torch.CPU);
var options = new SessionOptions
{
    Method = "starkv",
    BudgetRatio = 0.2,
    Task = "Open the settings page and turn on dark mode.",
    MaxNewTokens = 24,
};
Console.WriteLine(string.Create(culture, $"model {runtime.ModelId} ({runtime.Fingerprint}) on {runtime.Device}; {runtime.KvBytesPerToken} KV bytes per token"));
Console.WriteLine(string.Create(culture, $"session: {options.Method} at {options.BudgetRatio:P0}, {Steps} steps, synthetic 1280x800 screenshots"));
using var session = runtime.CreateSession(options);
for (var step = 0; step < Steps; step++)
{
    var screenshot = SyntheticScreenRenderer.RenderPng(Seed, 1280, 800, step);
    var outcome = session.Step(screenshot, step == 0 ? "" : "Continue.", CancellationToken.None);
    var f = outcome.Figures;
    var mapping = CoordinateMapping.For(outcome.ScreenshotWidth, outcome.ScreenshotHeight, outcome.ResizedWidth, outcome.ResizedHeight);
    var parsed = UiTarsActionParser.Parse(outcome.Text, mapping);
    Console.WriteLine();
    Console.WriteLine(string.Create(culture, $"step {outcome.StepIndex}: screenshot {outcome.ScreenshotWidth}x{outcome.ScreenshotHeight} -> {outcome.ResizedWidth}x{outcome.ResizedHeight}"));
    Console.WriteLine(string.Create(culture, $"  tokens prefilled {f.TokensPrefilled}, decoded {f.TokensDecoded}, seen {f.SeenTokens}"));
    Console.WriteLine(string.Create(culture, $"  kept per layer [{string.Join(", ", f.KeptPerLayer)}] of {f.SeenTokens - (f.TokensDecoded - 1)} at compression"));
    Console.WriteLine(string.Create(culture, $"  KV bytes {f.KvBytes:N0} vs full cache {f.FullKvBytes:N0} ({(double)f.KvBytes / f.FullKvBytes:P1})"));
    Console.WriteLine(string.Create(culture, $"  text: {Quote(outcome.Text)}"));
    Console.WriteLine(parsed.IsSuccess
        ? string.Create(culture, $"  action: {string.Join("; ", parsed.Actions)}")
        : string.Create(culture, $"  parse error: {parsed.Error}"));
    Console.WriteLine(string.Create(culture, $"  ms: vision {f.VisionMs:F1}, prefill {f.PrefillMs:F1}, compress {f.CompressMs:F1}, decode {f.DecodeMs:F1}"));
}

var saved = session.Save();
Console.WriteLine();
Console.WriteLine(string.Create(culture, $"checkpoint after {session.StepsTaken} steps: {saved.Length:N0} bytes (session holds {session.KvBytes:N0} KV bytes)"));
return 0;

static string Quote(string text) => "\"" + text.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal) + "\"";
