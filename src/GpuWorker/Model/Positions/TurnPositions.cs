using TorchSharp;

namespace StarKv.GpuWorker.Model.Positions;

/// <summary>
/// The M-RoPE position ids of one turn's tokens: rows are (temporal, height, width), on the CPU. // [3, T] int64
/// <see cref="NextPosition"/> is where the session's next token starts (max of these + 1).
/// </summary>
public sealed record TurnPositions(torch.Tensor Positions, long NextPosition) : IDisposable
{
    /// <summary>Tokens in the turn (T).</summary>
    public long Count => Positions.shape[1];

    public void Dispose() => Positions.Dispose();
}
