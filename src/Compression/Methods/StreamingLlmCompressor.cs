using StarKv.Compression.Api;
using StarKv.Compression.Selection;
using TorchSharp;

namespace StarKv.Compression.Methods;

/// <summary>
/// StreamingLLM: the first <see cref="Sinks"/> entries (attention sinks) and the most recent <c>keep − sinks</c>
/// (never fewer than the window; when the budget is that tight, fewer sinks remain).
/// </summary>
public sealed class StreamingLlmCompressor(int windowSize = 8) : ScoredKvCompressor("streamingllm", windowSize)
{
    /// <summary>Attention-sink entries kept at the start (StreamingLLM uses 4).</summary>
    public int Sinks { get; init; } = 4;

    protected override int RecentCount(int keep, int window) => Math.Max(window, keep - Sinks);

    protected override torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep)
    {
        // Descending position: the earliest entries first. // [1, P]
        return torch.arange(shape.Past, 0, -1, torch.float32, input.Keys.device).unsqueeze(0);
    }
}
