namespace StarKv.SyntheticGui.Tasks;

/// <summary>A split of the suite: the tasks a model trains on, and the held-out tasks it is measured on.</summary>
public enum SuiteSplit
{
    Train,
    Test,
}

/// <summary>
/// The seed of the task at an index of a split. Train seeds are even and test seeds odd, so no training task can
/// ever be a test task; within a split, indices are mixed (SplitMix64) so neighbouring tasks share nothing.
/// </summary>
public static class SuiteSeeds
{
    public static long For(SuiteSplit split, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var z = unchecked((ulong)index + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        var even = (long)((z >> 2) << 1);
        return split == SuiteSplit.Train ? even : even | 1;
    }

    public static SuiteSplit SplitOf(long seed) => (seed & 1) == 0 ? SuiteSplit.Train : SuiteSplit.Test;
}
