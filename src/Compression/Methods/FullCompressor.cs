using StarKv.Compression.Api;
using StarKv.Compression.Selection;

namespace StarKv.Compression.Methods;

/// <summary>No compression: every head keeps every entry (the reference the others are measured against).</summary>
public sealed class FullCompressor : IKvCompressor
{
    public FullCompressor(int windowSize = 8)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        WindowSize = windowSize;
    }

    public string Name => "full";

    public int WindowSize { get; }

    public LayerSelection Compress(LayerCompressionInput input)
    {
        var shape = LayerInputValidator.Validate(input, requireAlignedHeads: false);
        if (input.LayerIndex == 0)
        {
            input.State.Turns++;
        }

        return new LayerSelection(TopKSelector.All(shape, input.Keys.device), IsNoOp: true);
    }
}
