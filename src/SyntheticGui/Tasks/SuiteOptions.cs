namespace StarKv.SyntheticGui.Tasks;

/// <summary>The mix and difficulty of generated tasks. The defaults are the suite's; a curriculum may narrow them.</summary>
public sealed record SuiteOptions
{
    /// <summary>Share of grounding tasks.</summary>
    public double GroundingShare { get; init; } = 0.4;

    /// <summary>Share of memory tasks (the rest are action tasks).</summary>
    public double MemoryShare { get; init; } = 0.4;

    /// <summary>Fewest widgets on a screen (dialog buttons aside).</summary>
    public int MinWidgets { get; init; } = 6;

    /// <summary>Most widgets on a screen (dialog buttons aside).</summary>
    public int MaxWidgets { get; init; } = 16;

    /// <summary>Fewest screens of a memory task.</summary>
    public int MinScreens { get; init; } = 3;

    /// <summary>Most screens of a memory task.</summary>
    public int MaxScreens { get; init; } = 5;

    /// <summary>Share of memory tasks that recall a selected file by name rather than a widget's position.</summary>
    public double SelectionRecallShare { get; init; } = 0.35;

    /// <summary>Share of grounding steps whose screen shows a dialog (the target is then one of its buttons).</summary>
    public double DialogShare { get; init; } = 0.15;

    /// <summary>Share of a memory task's earlier steps that type or scroll instead of clicking.</summary>
    public double ActionStepShare { get; init; } = 0.2;

    public void Validate()
    {
        if (GroundingShare < 0 || MemoryShare < 0 || GroundingShare + MemoryShare > 1 + 1e-12)
        {
            throw new ArgumentException($"Task shares must be non-negative and sum to at most 1; got grounding {GroundingShare}, memory {MemoryShare}.");
        }

        if (MinWidgets < 1 || MaxWidgets < MinWidgets)
        {
            throw new ArgumentException($"Widget counts must satisfy 1 ≤ min ≤ max; got {MinWidgets}..{MaxWidgets}.");
        }

        if (MinScreens < 2 || MaxScreens < MinScreens)
        {
            throw new ArgumentException($"A memory task needs 2 ≤ min ≤ max screens; got {MinScreens}..{MaxScreens}.");
        }
    }
}
