using TorchSharp;

namespace StarKv.GpuWorker.Model.Text;

/// <summary>
/// Causal attention of a turn's queries over a KV-head cache whose tail holds the turn itself, without
/// expanding the keys to the query heads. Query head h reads KV head <c>g = h / r</c> with r = H / G
/// (transformers' <c>repeat_kv</c> order). The r query heads of a group are stacked along the query axis,
/// <c>[H, T, D] → [G, r·T, D]</c>, so each group attends to its own <c>[N, D]</c> keys; this is what keeps
/// attention exact when heads of one layer hold different entries. Query t of the turn sees every retained
/// entry (the first N − T) and the turn's entries up to itself. Scale <c>1/√D</c>.
/// <para>
/// A long turn is attended in blocks of <see cref="DefaultQueryBlock"/> queries: block <c>[s, s + b)</c> is itself the
/// tail of the first <c>N − T + s + b</c> entries, so each block is the same computation on fewer keys, and the scores
/// and mask alive at once are <c>r·b × N</c> instead of <c>r·T × N</c>. A prefill's memory then grows linearly with its
/// length; every query row sees exactly the keys and mask it would unblocked, so the output matches within float
/// rounding, and the blocks join with <c>cat</c>, so autograd runs through them.
/// </para>
/// </summary>
public static class GroupedAttention
{
    /// <summary>Queries per block: 512 keeps a block's scores at 512 · r · N floats per KV head.</summary>
    public const int DefaultQueryBlock = 512;

    /// <param name="queries">The turn's queries after rotary embedding. // [H, T, D]</param>
    /// <param name="keys">The layer's cached keys, turn last. // [G, N, D]</param>
    /// <param name="values">The layer's cached values, turn last. // [G, N, D]</param>
    /// <param name="queryBlock">Queries attended at once (a turn this long or shorter is one block).</param>
    /// <returns>// [H, T, D]</returns>
    public static torch.Tensor AttendTail(torch.Tensor queries, torch.Tensor keys, torch.Tensor values, int queryBlock = DefaultQueryBlock)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queryBlock);
        long heads = queries.shape[0], turn = queries.shape[1], dim = queries.shape[2];
        long groups = keys.shape[0], stored = keys.shape[1];
        if (heads % groups != 0 || keys.shape[2] != dim || turn > stored)
        {
            throw new ArgumentException($"Queries [{string.Join(", ", queries.shape)}] cannot attend to keys [{string.Join(", ", keys.shape)}].", nameof(keys));
        }

        if (turn <= queryBlock)
        {
            return Block(queries, keys, values);
        }

        using var scope = torch.NewDisposeScope();
        var past = stored - turn;
        var blocks = new List<torch.Tensor>();
        for (long start = 0; start < turn; start += queryBlock)
        {
            using var blockScope = torch.NewDisposeScope();
            var length = Math.Min(queryBlock, turn - start);
            var visible = past + start + length;
            var block = Block(queries.narrow(1, start, length), keys.narrow(1, 0, visible), values.narrow(1, 0, visible)); // [H, b, D]
            blocks.Add(block.MoveToOuterDisposeScope());
        }

        return torch.cat(blocks, 1).MoveToOuterDisposeScope(); // [H, T, D]
    }

    /// <summary>The unblocked computation: all of <paramref name="queries"/> are the tail of <paramref name="keys"/>.</summary>
    private static torch.Tensor Block(torch.Tensor queries, torch.Tensor keys, torch.Tensor values)
    {
        long heads = queries.shape[0], turn = queries.shape[1], dim = queries.shape[2];
        long groups = keys.shape[0], stored = keys.shape[1];
        var r = heads / groups;
        using var scope = torch.NewDisposeScope();
        var q = queries.reshape(1, groups, r * turn, dim); // [1, G, r·T, D]
        var k = keys.unsqueeze(0); // [1, G, N, D]
        var v = values.unsqueeze(0); // [1, G, N, D]
        torch.Tensor? mask = null;
        if (turn > 1)
        {
            var past = stored - turn;
            // Scalars held until the end of the block (see RmsNorm: a temporary Scalar may be finalised mid-call).
            using Scalar first = past, end = stored;
            var column = torch.arange(end, dtype: torch.ScalarType.Int64, device: keys.device).unsqueeze(0); // [1, N]
            var row = torch.arange(first, end, dtype: torch.ScalarType.Int64, device: keys.device).unsqueeze(1); // [T, 1]
            mask = column.le(row).repeat(r, 1); // [r·T, N] bool, true = attend
        }

        var output = torch.nn.functional.scaled_dot_product_attention(q, k, v, mask); // [1, G, r·T, D]
        return output.reshape(heads, turn, dim).MoveToOuterDisposeScope();
    }
}
