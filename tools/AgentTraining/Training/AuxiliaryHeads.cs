using StarKv.AgentTraining.Samples;
using StarKv.Compression.Tensors;
using TorchSharp;

namespace StarKv.AgentTraining.Training;

/// <summary>
/// Training-only heads, dropped at export (the served architecture is unchanged): from each merged vision token of the
/// vision encoder's output, its own row and column (so the encoder learns where each token is); from each vision
/// token's last hidden state, whether it lies on the target the instruction names; and from each merged vision token of
/// the encoder's output, what it shows: the label (or icon shape) and the colour of the widget under its centre, so the
/// encoder learns to read the screen.
/// </summary>
public sealed class AuxiliaryHeads : IDisposable
{
    public const int MaxCells = 16;

    public AuxiliaryHeads(int visionOut, int hidden, int seed)
    {
        var generator = new torch.Generator((ulong)seed);
        using var scalars = new HeldScalars();
        var std = scalars[0.02];
        Row = (torch.randn(MaxCells, visionOut, generator: generator) * std).DetachFromDisposeScope().requires_grad_(true); // [16, out]
        Column = (torch.randn(MaxCells, visionOut, generator: generator) * std).DetachFromDisposeScope().requires_grad_(true); // [16, out]
        Inside = (torch.randn(1, hidden, generator: generator) * std).DetachFromDisposeScope().requires_grad_(true); // [1, hidden]
        InsideBias = torch.zeros(1).DetachFromDisposeScope().requires_grad_(true); // [1]
        Label = (torch.randn(ScreenContent.LabelClasses, visionOut, generator: generator) * std).DetachFromDisposeScope().requires_grad_(true); // [labels, out]
        Colour = (torch.randn(ScreenContent.ColourClasses, visionOut, generator: generator) * std).DetachFromDisposeScope().requires_grad_(true); // [colours, out]
    }

    public torch.Tensor Label { get; }

    public torch.Tensor Colour { get; }

    public torch.Tensor Row { get; }

    public torch.Tensor Column { get; }

    public torch.Tensor Inside { get; }

    public torch.Tensor InsideBias { get; }

    public IReadOnlyList<(string Name, torch.Tensor Tensor)> Named =>
        [("aux.row", Row), ("aux.column", Column), ("aux.inside", Inside), ("aux.inside_bias", InsideBias), ("aux.label", Label), ("aux.colour", Colour)];

    /// <summary>Cross-entropy of each token's widget label and colour (<see cref="ScreenContent"/>), averaged over both and over tokens.</summary>
    /// <param name="features">The encoder's merged tokens in raster order. // [V, out]</param>
    /// <param name="labels">One label class per token.</param>
    /// <param name="colours">One colour class per token.</param>
    public torch.Tensor ContentLoss(torch.Tensor features, IReadOnlyList<long> labels, IReadOnlyList<long> colours)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(colours);
        using var scope = torch.NewDisposeScope();
        var labelLoss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(features, Label), torch.tensor(labels.ToArray()));
        var colourLoss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(features, Colour), torch.tensor(colours.ToArray()));
        return torch.stack([labelLoss, colourLoss]).mean().MoveToOuterDisposeScope();
    }

    /// <summary>Cross-entropy of each token's own row and column, averaged over both and over tokens.</summary>
    /// <param name="features">The encoder's merged tokens in raster order. // [V, out]</param>
    /// <param name="rows">Merged rows.</param>
    /// <param name="cols">Merged columns.</param>
    public torch.Tensor PositionLoss(torch.Tensor features, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(features);
        using var scope = torch.NewDisposeScope();
        var rowTarget = torch.tensor(Enumerable.Range(0, rows * cols).Select(i => (long)(i / cols)).ToArray()); // [V]
        var colTarget = torch.tensor(Enumerable.Range(0, rows * cols).Select(i => (long)(i % cols)).ToArray()); // [V]
        var rowLoss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(features, Row), rowTarget);
        var colLoss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(features, Column), colTarget);
        return torch.stack([rowLoss, colLoss]).mean().MoveToOuterDisposeScope();
    }

    /// <summary>Binary cross-entropy of "on the target" for each vision token, from its last hidden state.</summary>
    /// <param name="hidden">The image's tokens' final normalised hidden states. // [V, hidden]</param>
    /// <param name="inside">One flag per token.</param>
    public torch.Tensor InsideLoss(torch.Tensor hidden, IReadOnlyList<bool> inside)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(inside);
        using var scope = torch.NewDisposeScope();
        var logits = torch.nn.functional.linear(hidden, Inside, InsideBias).squeeze(1); // [V]
        var target = torch.tensor(inside.Select(b => b ? 1f : 0f).ToArray()); // [V]
        var positives = Math.Max(1, inside.Count(b => b));
        var weight = torch.tensor((float)((inside.Count - positives) / (double)positives)); // balance the few target cells
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weights: weight).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Row.Dispose();
        Column.Dispose();
        Inside.Dispose();
        InsideBias.Dispose();
        Label.Dispose();
        Colour.Dispose();
    }
}
