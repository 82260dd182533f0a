using StarKv.Compression.Tensors;
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

    /// <summary>Queries per chunk of <see cref="AttendTailWithColumnSums"/>.</summary>
    public const int ColumnSumChunk = 256;

    /// <param name="queries">The turn's queries after rotary embedding. // [H, T, D]</param>
    /// <param name="keys">The layer's cached keys, turn last. // [G, N, D]</param>
    /// <param name="values">The layer's cached values, turn last. // [G, N, D]</param>
    /// <param name="queryBlock">Queries attended at once (a turn this long or shorter is one block).</param>
    /// <returns>// [H, T, D]</returns>
    public static torch.Tensor AttendTail(torch.Tensor queries, torch.Tensor keys, torch.Tensor values, int queryBlock = DefaultQueryBlock)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queryBlock);
        var (_, turn, _, _, stored) = Check(queries, keys, values);

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

    /// <summary>
    /// The same attention as <see cref="AttendTail"/>, computed with an explicit softmax in fp32 over chunks of the turn's
    /// queries, which also returns what H2O scores with: for each KV group, the attention probability every cached
    /// entry received, summed over the turn's queries and the group's r query heads. The probabilities are cast to the
    /// values' dtype before they weight the values.
    /// </summary>
    /// <param name="queries">The turn's queries after rotary embedding. // [H, T, D]</param>
    /// <param name="keys">The layer's cached keys, turn last. // [G, N, D]</param>
    /// <param name="values">The layer's cached values, turn last. // [G, N, D]</param>
    /// <returns>The attention output <c>[H, T, D]</c> and the column sums <c>[G, N]</c> (fp32).</returns>
    public static (torch.Tensor Output, torch.Tensor ColumnSums) AttendTailWithColumnSums(torch.Tensor queries, torch.Tensor keys, torch.Tensor values)
    {
        var (heads, turn, dim, groups, stored) = Check(queries, keys, values);
        var r = heads / groups;
        using var scope = torch.NewDisposeScope();
        using var scalars = new HeldScalars();
        var kT = keys.to(torch.float32).transpose(1, 2); // [G, D, N]
        var grouped = queries.reshape(groups, r, turn, dim); // [G, r, T, D]
        var output = torch.empty([groups, r, turn, dim], dtype: queries.dtype, device: queries.device); // [G, r, T, D]
        var sums = torch.zeros([groups, stored], torch.float32, keys.device); // [G, N]
        var column = torch.arange(scalars[stored], torch.int64, keys.device).unsqueeze(0); // [1, N]
        var scale = scalars[1 / Math.Sqrt(dim)];
        var minusInfinity = scalars[double.NegativeInfinity];
        for (long start = 0; start < turn; start += ColumnSumChunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            var n = Math.Min(ColumnSumChunk, turn - start);
            var q = grouped.narrow(2, start, n).to(torch.float32).reshape(groups, r * n, dim); // [G, r·n, D]
            var logits = torch.bmm(q, kT).mul_(scale); // [G, r·n, N]
            var row = torch.arange(scalars[stored - turn + start], scalars[stored - turn + start + n], torch.int64, keys.device).unsqueeze(1); // [n, 1]
            logits.view(groups, r, n, stored).masked_fill_(column.gt(row), minusInfinity);
            var probabilities = logits.sub_(logits.amax([-1], keepdim: true)).exp_(); // softmax in place: [G, r·n, N]
            probabilities.div_(probabilities.sum([-1], keepdim: true));
            sums.add_(probabilities.sum(1));
            var attended = torch.bmm(probabilities.to(values.dtype), values); // [G, r·n, D]
            output.narrow(2, start, n).copy_(attended.view(groups, r, n, dim));
        }

        return (output.reshape(heads, turn, dim).MoveToOuterDisposeScope(), sums.MoveToOuterDisposeScope());
    }

    private static (long Heads, long Turn, long Dim, long Groups, long Stored) Check(torch.Tensor queries, torch.Tensor keys, torch.Tensor values)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        long heads = queries.shape[0], turn = queries.shape[1], dim = queries.shape[2];
        long groups = keys.shape[0], stored = keys.shape[1];
        if (heads % groups != 0 || keys.shape[2] != dim || turn > stored)
        {
            throw new ArgumentException($"Queries [{string.Join(", ", queries.shape)}] cannot attend to keys [{string.Join(", ", keys.shape)}].", nameof(keys));
        }

        return (heads, turn, dim, groups, stored);
    }
}
