using StarKv.SyntheticGui.Tasks;

namespace StarKv.AgentTraining.Training;

/// <summary>
/// What the training tasks look like at a point of the run: first grounding on screens of one to four widgets, then
/// grounding among the suite's 6–16 widgets with action tasks, then the suite's whole mix with memory tasks (3 screens
/// at first, up to 5 in the second half). Task i of step s is train-split task s · batch + i, so a resumed run sees
/// the same tasks.
/// </summary>
public static class Curriculum
{
    public static SuiteOptions At(int step, int steps)
    {
        var f = step / (double)Math.Max(1, steps);
        if (f < 0.12)
        {
            return new SuiteOptions { GroundingShare = 1, MemoryShare = 0, MinWidgets = 1, MaxWidgets = 4, DialogShare = 0.05 };
        }

        if (f < 0.3)
        {
            var max = (int)Math.Round(6 + (10 * (f - 0.12) / 0.18));
            return new SuiteOptions { GroundingShare = 0.8, MemoryShare = 0, MinWidgets = 4, MaxWidgets = Math.Min(16, max) };
        }

        return f < 0.55
            ? new SuiteOptions { GroundingShare = 0.4, MemoryShare = 0.4, MaxScreens = 3 }
            : new SuiteOptions();
    }

    public static long TaskIndex(int step, int batchSize, int item) => ((long)step * batchSize) + item;
}
