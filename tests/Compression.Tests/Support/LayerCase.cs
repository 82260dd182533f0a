using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.Compression.Tests.Support;

/// <summary>
/// One layer's compression input held as plain arrays (fp32 values, read as doubles by the references), so the
/// library and the double-precision references see exactly the same numbers.
/// </summary>
public sealed class LayerCase
{
    public required float[][][] WindowQueries { get; init; } // [H][W][D]

    public float[][][]? TurnQueries { get; init; } // [H][T][D]

    public required float[][][] Keys { get; init; } // [G][L][D]

    public required float[][] Hidden { get; init; } // [V][hidden]

    public required TokenInfo[] Tokens { get; init; } // [L], the same for every head

    public ScreenshotGrid? Grid { get; init; }

    public int LayerIndex { get; init; }

    public int LayerCount { get; init; } = 1;

    public long SeenTokens { get; init; }

    public required KvBudget Budget { get; init; }

    public int Heads => WindowQueries.Length;

    public int Groups => Keys.Length;

    public int Window => WindowQueries[0].Length;

    public int Length => Keys[0].Length;

    public int Dim => Keys[0][0].Length;

    public int Past => Length - Window;

    public LayerCompressionInput ToInput(CompressorState state) => new()
    {
        WindowQueries = ToTensor(WindowQueries),
        TurnQueries = TurnQueries is null ? null : ToTensor(TurnQueries),
        Keys = ToTensor(Keys),
        ScreenshotHiddenStates = Hidden.Length == 0
            ? torch.zeros(0, 16)
            : torch.tensor(Hidden.SelectMany(r => r).ToArray(), [Hidden.Length, Hidden[0].Length]), // [V, hidden]
        Tokens = Enumerable.Range(0, Groups).Select(_ => (IReadOnlyList<TokenInfo>)Tokens).ToArray(),
        CurrentScreenshot = Grid,
        LayerIndex = LayerIndex,
        LayerCount = LayerCount,
        SeenTokens = SeenTokens,
        Budget = Budget,
        State = state,
    };

    /// <summary>A [A][B][C] array as a tensor. // [A, B, C]</summary>
    public static torch.Tensor ToTensor(float[][][] values) =>
        torch.tensor(values.SelectMany(a => a.SelectMany(b => b)).ToArray(), [values.Length, values[0].Length, values[0][0].Length]);

    /// <summary>Kept indices per head as arrays.</summary>
    public static long[][] Rows(LayerSelection selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        var g = (int)selection.Indices.shape[0];
        var k = (int)selection.Indices.shape[1];
        var flat = selection.Indices.cpu().data<long>().ToArray();
        return Enumerable.Range(0, g).Select(i => flat.AsSpan(i * k, k).ToArray()).ToArray();
    }
}
