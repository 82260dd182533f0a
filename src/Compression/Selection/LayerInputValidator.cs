using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.Compression.Selection;

/// <summary>Checks a <see cref="LayerCompressionInput"/> and names the first thing that is wrong with it.</summary>
public static class LayerInputValidator
{
    /// <param name="input">The layer's input.</param>
    /// <param name="requireAlignedHeads">
    /// Methods that score every head of a layer together (STaR-KV) need every KV head to hold the same entries,
    /// which holds for a session compressed only by such methods; this checks it entry by entry.
    /// </param>
    public static LayerShape Validate(LayerCompressionInput input, bool requireAlignedHeads)
    {
        ArgumentNullException.ThrowIfNull(input);
        var queries = input.WindowQueries;
        var keys = input.Keys;
        RequireDims(queries, 3, nameof(input.WindowQueries), "[H, W, D]");
        RequireDims(keys, 3, nameof(input.Keys), "[G, L, D]");
        RequireFloating(queries, nameof(input.WindowQueries));
        RequireFloating(keys, nameof(input.Keys));

        var heads = (int)queries.shape[0];
        var window = (int)queries.shape[1];
        var dim = (int)queries.shape[2];
        var groups = (int)keys.shape[0];
        var length = (int)keys.shape[1];
        if (keys.shape[2] != dim)
        {
            throw new ArgumentException(
                $"Head dimension mismatch: WindowQueries [H, W, D] has D = {dim} but Keys [G, L, D] has D = {keys.shape[2]}.",
                nameof(input));
        }

        if (groups <= 0 || heads <= 0 || heads % groups != 0)
        {
            throw new ArgumentException(
                $"Query heads H = {heads} must be a positive multiple of KV heads G = {groups} (grouped-query attention).",
                nameof(input));
        }

        if (window <= 0)
        {
            throw new ArgumentException("WindowQueries holds no queries: the window W must be at least 1.", nameof(input));
        }

        if (window > length)
        {
            throw new ArgumentException(
                $"The window (W = {window} queries) is larger than the cache (L = {length} entries).", nameof(input));
        }

        if (input.TurnQueries is { } turn)
        {
            RequireDims(turn, 3, nameof(input.TurnQueries), "[H, T, D]");
            if (turn.shape[0] != heads || turn.shape[2] != dim || turn.shape[1] < window || turn.shape[1] > length)
            {
                throw new ArgumentException(
                    $"TurnQueries has shape [{string.Join(", ", turn.shape)}]; expected [H = {heads}, T, D = {dim}] with W = {window} ≤ T ≤ L = {length}.",
                    nameof(input));
            }
        }

        if (input.PrefillColumnSums is { } sums && (sums.dim() != 2 || sums.shape[0] != groups || sums.shape[1] != length))
        {
            throw new ArgumentException(
                $"PrefillColumnSums has shape [{string.Join(", ", sums.shape)}]; expected [G = {groups}, L = {length}].",
                nameof(input));
        }

        if (input.LayerCount <= 0 || input.LayerIndex < 0 || input.LayerIndex >= input.LayerCount)
        {
            throw new ArgumentException(
                $"LayerIndex {input.LayerIndex} is outside [0, LayerCount = {input.LayerCount}).", nameof(input));
        }

        if (input.SeenTokens < length)
        {
            throw new ArgumentException(
                $"SeenTokens = {input.SeenTokens} is below the cache length L = {length}; every cached entry was seen.",
                nameof(input));
        }

        ArgumentNullException.ThrowIfNull(input.Budget, nameof(input.Budget));
        ArgumentNullException.ThrowIfNull(input.State, nameof(input.State));
        ValidateTokens(input, groups, length, requireAlignedHeads);
        ValidateScreenshot(input, groups);
        return new LayerShape(heads, groups, window, length, dim);
    }

    private static void ValidateTokens(LayerCompressionInput input, int groups, int length, bool requireAlignedHeads)
    {
        var tokens = input.Tokens ?? throw new ArgumentNullException(nameof(input), "Tokens (the cache's bookkeeping) is null.");
        if (tokens.Count != groups)
        {
            throw new ArgumentException(
                $"Bookkeeping has {tokens.Count} heads but Keys has G = {groups} KV heads.", nameof(input));
        }

        for (var g = 0; g < groups; g++)
        {
            if (tokens[g].Count != length)
            {
                throw new ArgumentException(
                    $"Bookkeeping of KV head {g} has {tokens[g].Count} entries but the cache holds L = {length}.",
                    nameof(input));
            }
        }

        if (!requireAlignedHeads)
        {
            return;
        }

        for (var g = 1; g < groups; g++)
        {
            for (var j = 0; j < length; j++)
            {
                if (tokens[g][j].Position != tokens[0][j].Position)
                {
                    throw new ArgumentException(
                        $"This method scores every head of a layer together and needs the KV heads aligned (the same entries per head), "
                        + $"but entry {j} is position {tokens[g][j].Position} in head {g} and {tokens[0][j].Position} in head 0.",
                        nameof(input));
                }
            }
        }
    }

    private static void ValidateScreenshot(LayerCompressionInput input, int groups)
    {
        var hidden = input.ScreenshotHiddenStates;
        RequireDims(hidden, 2, nameof(input.ScreenshotHiddenStates), "[V, hidden]");
        if (input.CurrentScreenshot is not { } grid)
        {
            if (hidden.shape[0] != 0)
            {
                throw new ArgumentException(
                    $"ScreenshotHiddenStates has {hidden.shape[0]} rows but CurrentScreenshot is null.", nameof(input));
            }

            return;
        }

        if (grid.Rows <= 0 || grid.Cols <= 0)
        {
            throw new ArgumentException($"CurrentScreenshot grid {grid.Rows}×{grid.Cols} must be positive.", nameof(input));
        }

        for (var g = 0; g < groups; g++)
        {
            var count = 0;
            foreach (var token in input.Tokens[g])
            {
                if (token.Modality != TokenModality.Image || token.ScreenshotIndex != grid.ScreenshotIndex)
                {
                    continue;
                }

                count++;
                if (token.GridRow < 0 || token.GridRow >= grid.Rows || token.GridCol < 0 || token.GridCol >= grid.Cols)
                {
                    throw new ArgumentException(
                        $"Entry at position {token.Position} has cell ({token.GridRow}, {token.GridCol}) outside screenshot "
                        + $"{grid.ScreenshotIndex}'s {grid.Rows}×{grid.Cols} merged grid.",
                        nameof(input));
                }
            }

            if (count > grid.TokenCount)
            {
                throw new ArgumentException(
                    $"KV head {g} holds {count} entries of screenshot {grid.ScreenshotIndex}, more than its {grid.Rows}×{grid.Cols} grid.",
                    nameof(input));
            }

            if (hidden.shape[0] != 0 && hidden.shape[0] != count)
            {
                throw new ArgumentException(
                    $"ScreenshotHiddenStates has {hidden.shape[0]} rows but KV head {g} holds {count} entries of the current screenshot.",
                    nameof(input));
            }
        }
    }

    private static void RequireDims(torch.Tensor? tensor, int dims, string name, string layout)
    {
        if (tensor is null)
        {
            throw new ArgumentNullException(name, $"{name} {layout} is null.");
        }

        if (tensor.dim() != dims)
        {
            throw new ArgumentException(
                $"{name} must be {layout} ({dims} dimensions) but has shape [{string.Join(", ", tensor.shape)}].", name);
        }
    }

    private static void RequireFloating(torch.Tensor tensor, string name)
    {
        if (!torch.is_floating_point(tensor))
        {
            throw new ArgumentException($"{name} must be a floating-point tensor but is {tensor.dtype}.", name);
        }
    }
}
