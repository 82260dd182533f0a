using System.Globalization;
using StarKv.SyntheticGui.Screens;

namespace StarKv.SyntheticGui.Tasks;

/// <summary>
/// Generates one task from a seed: its kind by <see cref="SuiteOptions"/>' shares, then its screens and steps.
/// Everything is drawn from one <see cref="Random"/> seeded by the task's seed, so a seed always gives the same task.
/// <list type="bullet">
/// <item>Grounding: one screen; the first instruction (which the session puts into the task prompt, before the
/// screenshot) names one visible widget, unique on the screen; with a dialog open, one of its buttons.</item>
/// <item>Memory: 3–5 screens of one app; each earlier step clicks (or types, or scrolls) as its instruction says;
/// the last instruction asks either to click where a widget was n screens ago (the widget appears on no other screen
/// of the task, so only that earlier screenshot can answer) or to open the file that was selected n screens ago (only
/// that screen has a selected row; the last screen's list holds the file, unselected).</item>
/// <item>Action: one screen; type a word into the focused field, scroll the list, or finish.</item>
/// </list>
/// </summary>
public static class TaskGenerator
{
    public static SuiteTask Generate(long seed, SuiteOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var random = new Random(unchecked((int)(seed ^ (seed >> 32))));
        var draw = random.NextDouble();
        var kind = draw < options.GroundingShare ? TaskKind.Grounding
            : draw < options.GroundingShare + options.MemoryShare ? TaskKind.Memory
            : TaskKind.Action;
        var platform = (Platform)random.Next(3);
        var theme = random.NextDouble() < 0.5 ? Theme.Light : Theme.Dark;
        var steps = kind switch
        {
            TaskKind.Grounding => [GroundingStep(Request(platform, theme, options) with { WithDialog = random.NextDouble() < options.DialogShare }, random)],
            TaskKind.Memory => Memory(platform, theme, options, random),
            _ => [ActionStep(platform, theme, options, random)],
        };
        var prefix = kind switch { TaskKind.Grounding => "ground", TaskKind.Memory => "memory", _ => "action" };
        return new SuiteTask(string.Create(CultureInfo.InvariantCulture, $"{prefix}-{seed:x16}"), kind, platform, seed, steps);
    }

    private static ScreenRequest Request(Platform platform, Theme theme, SuiteOptions options) => new()
    {
        Platform = platform,
        Theme = theme,
        MinWidgets = options.MinWidgets,
        MaxWidgets = options.MaxWidgets,
    };

    private static SuiteStep GroundingStep(ScreenRequest request, Random random, string? avoid = null)
    {
        var screen = ScreenGenerator.Generate(request, random);
        var target = PickTarget(screen, random, avoid);
        return new SuiteStep(screen, Instructions.Click(target, random), new ClickExpected(target.Box), Instructions.ClickThought(target));
    }

    /// <summary>A visible widget, unique on its screen: a dialog's button when a dialog is open, else a kind first, then a widget of it.</summary>
    private static Widget PickTarget(Screen screen, Random random, string? avoid)
    {
        var candidates = screen.Visible.Where(w => screen.IsUnique(w) && w.Description != avoid).ToList();
        if (screen.Dialog is not null)
        {
            candidates = [.. candidates.Where(w => w.Kind == WidgetKind.DialogButton)];
        }

        var kinds = candidates.Select(w => w.Kind).Distinct().OrderBy(k => k).ToList();
        var kind = kinds[random.Next(kinds.Count)];
        var ofKind = candidates.Where(w => w.Kind == kind).ToList();
        return ofKind[random.Next(ofKind.Count)];
    }

    private static SuiteStep ActionStep(Platform platform, Theme theme, SuiteOptions options, Random random, bool allowFinish = true)
    {
        var draw = random.NextDouble() * (allowFinish ? 1.0 : 0.8);
        var request = Request(platform, theme, options);
        if (draw < 0.4)
        {
            var screen = ScreenGenerator.Generate(request with { FocusField = true }, random);
            var field = screen.Widgets.First(w => w.Kind == WidgetKind.TextField);
            var word = Vocabulary.TypedWords[random.Next(Vocabulary.TypedWords.Count)];
            return new SuiteStep(screen, Instructions.Type(word, field), new TypeExpected(word), Instructions.TypeThought(field));
        }

        if (draw < 0.8)
        {
            var screen = ScreenGenerator.Generate(request with { WithList = true }, random);
            var rows = screen.Widgets.Where(w => w.Kind == WidgetKind.ListRow).ToList();
            var list = new PixelBox(rows.Min(r => r.Box.X1), rows.Min(r => r.Box.Y1), rows.Max(r => r.Box.X2), rows.Max(r => r.Box.Y2));
            var direction = random.NextDouble() < 0.5 ? "down" : "up";
            return new SuiteStep(screen, Instructions.Scroll(direction, random), new ScrollExpected(direction, list), Instructions.ScrollThought(direction));
        }

        var finished = ScreenGenerator.Generate(request, random);
        return new SuiteStep(finished, Instructions.Finish(random), new FinishedExpected(), Instructions.FinishThought);
    }

    private static List<SuiteStep> Memory(Platform platform, Theme theme, SuiteOptions options, Random random)
    {
        var count = random.Next(options.MinScreens, options.MaxScreens + 1);
        var screensAgo = random.Next(1, count);
        var source = count - 1 - screensAgo;
        var bySelection = random.NextDouble() < options.SelectionRecallShare;
        var request = Request(platform, theme, options);

        // The screen to remember first, then the others, which must not show what it holds.
        var sourceScreen = ScreenGenerator.Generate(request with { SelectRow = bySelection, WithList = bySelection }, random);
        Widget remembered;
        if (bySelection)
        {
            remembered = sourceScreen.Widgets.First(w => w.Kind == WidgetKind.ListRow && w.Highlighted);
        }
        else
        {
            var candidates = sourceScreen.Visible.Where(w => w.Kind is WidgetKind.Button or WidgetKind.Icon or WidgetKind.Tab && sourceScreen.IsUnique(w)).ToList();
            remembered = candidates[random.Next(candidates.Count)];
        }

        // Position recall: no other screen shows the widget. Selection recall: no other screen selects a row.
        var exclude = bySelection ? new HashSet<string>(StringComparer.Ordinal) : new HashSet<string>(StringComparer.Ordinal) { remembered.Description };
        var steps = new List<SuiteStep>();
        for (var i = 0; i < count - 1; i++)
        {
            if (i == source)
            {
                var target = PickTarget(sourceScreen, random, remembered.Description);
                steps.Add(new SuiteStep(sourceScreen, Instructions.Click(target, random), new ClickExpected(target.Box), Instructions.ClickThought(target)));
                continue;
            }

            if (random.NextDouble() < options.ActionStepShare)
            {
                var action = ActionStep(platform, theme, options, random, allowFinish: false);
                if (!Shows(action.Screen, remembered, bySelection))
                {
                    steps.Add(action);
                    continue;
                }
            }

            steps.Add(GroundingStep(request with { Exclude = exclude }, random));
        }

        if (bySelection)
        {
            var last = ScreenGenerator.Generate(request with { ListMustHold = remembered.Label, Exclude = exclude }, random);
            var row = last.Widgets.First(w => w.Kind == WidgetKind.ListRow && w.Label == remembered.Label);
            steps.Add(new SuiteStep(last, Instructions.RecallSelection(screensAgo, random), new ClickExpected(row.Box), Instructions.RecallSelectionThought(remembered.Label, screensAgo)));
        }
        else
        {
            var last = ScreenGenerator.Generate(request with { Exclude = exclude, WithDialog = random.NextDouble() < 0.3 }, random);
            steps.Add(new SuiteStep(last, Instructions.RecallPosition(remembered, screensAgo, random), new ClickExpected(remembered.Box), Instructions.RecallPositionThought(remembered, screensAgo))
            {
                SourceStep = source,
            });
        }

        return steps;
    }

    /// <summary>Whether a screen would spoil a memory task: it shows the remembered widget, or (selection recall) any selected row.</summary>
    private static bool Shows(Screen screen, Widget remembered, bool bySelection) =>
        screen.Widgets.Any(w => w.Description == remembered.Description || (bySelection && w.Kind == WidgetKind.ListRow && w.Highlighted));
}
