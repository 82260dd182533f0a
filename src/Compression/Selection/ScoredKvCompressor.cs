using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.Compression.Selection;

/// <summary>
/// The shared frame of every method: validate the input, count the turn, work out the layer's own keep count (methods
/// may move budget between layers), return a no-op while the cache fits that budget, otherwise score the past entries
/// in fp32 (a subclass's only job), reject NaN scores, and keep the trailing entries plus the best-scored rest
/// (<see cref="TopKSelector"/>).
/// </summary>
/// <remarks>
/// The no-op test is against the layer's budget, not the uniform one: a layer keeps at most its own budget at every
/// turn, so when the layer budgets sum to at most (layers × keep) the kept entries do too, whatever the history.
/// </remarks>
public abstract class ScoredKvCompressor : IKvCompressor
{
    protected ScoredKvCompressor(string name, int windowSize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        Name = name;
        WindowSize = windowSize;
    }

    public string Name { get; }

    public int WindowSize { get; }

    /// <inheritdoc />
    public virtual bool UsesPrefillColumnSums => false;

    /// <summary>Whether every KV head must hold the same entries (checked before scoring).</summary>
    protected virtual bool RequiresAlignedHeads => false;

    public LayerSelection Compress(LayerCompressionInput input)
    {
        var shape = LayerInputValidator.Validate(input, RequiresAlignedHeads);
        if (input.LayerIndex == 0)
        {
            input.State.Turns++;
        }

        BeginLayer(input);

        var device = input.Keys.device;
        var keep = LayerKeep(input, shape);
        if (keep >= shape.Length)
        {
            return new LayerSelection(TopKSelector.All(shape, device), IsNoOp: true);
        }

        var keepCount = (int)keep;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var scores = Score(input, shape, keepCount); // [G or 1, P]
        if (scores.dim() != 2 || (scores.shape[0] != shape.Groups && scores.shape[0] != 1) || scores.shape[1] != shape.Past)
        {
            throw new InvalidOperationException(
                $"{Name} produced scores of shape [{string.Join(", ", scores.shape)}]; expected [{shape.Groups} or 1, {shape.Past}].");
        }

        if (torch.isnan(scores).any().item<bool>())
        {
            throw new ArgumentException(
                $"{Name} scores of layer {input.LayerIndex} contain NaN; the queries, keys or hidden states hold NaN or infinities.",
                nameof(input));
        }

        var recent = Math.Clamp(RecentCount(keepCount, shape.Window), shape.Window, keepCount);
        var indices = TopKSelector.Select(scores, shape, keepCount, recent, device);
        return new LayerSelection(indices.MoveToOuterDisposeScope(), IsNoOp: false);
    }

    /// <summary>
    /// Entries the layer may keep (it keeps all of a cache no longer than that); the ratio or absolute budget by
    /// default. Overrides that move budget between layers must keep the layers' sum within (layers × uniform keep).
    /// </summary>
    protected virtual long LayerKeep(LayerCompressionInput input, LayerShape shape) =>
        input.Budget.KeepCount(input.SeenTokens, shape.Window);

    /// <summary>Called for every layer after validation and before the budget is read, compressed or not.</summary>
    protected virtual void BeginLayer(LayerCompressionInput input)
    {
    }

    /// <summary>Trailing entries forced in; the window by default.</summary>
    protected virtual int RecentCount(int keep, int window) => window;

    /// <summary>Scores of the P past entries, higher is kept first, per KV head or one shared row. // [G or 1, P]</summary>
    protected abstract torch.Tensor Score(LayerCompressionInput input, LayerShape shape, int keep);
}
