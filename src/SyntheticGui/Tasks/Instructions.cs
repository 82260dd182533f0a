using StarKv.SyntheticGui.Screens;

namespace StarKv.SyntheticGui.Tasks;

/// <summary>The phrasings of the suite's instructions and thoughts (a few per kind, drawn at random).</summary>
public static class Instructions
{
    /// <summary>An instruction to click <paramref name="widget"/>, which is unique on its screen.</summary>
    public static string Click(Widget widget, Random random)
    {
        ArgumentNullException.ThrowIfNull(widget);
        ArgumentNullException.ThrowIfNull(random);
        string[] options = widget.Kind switch
        {
            WidgetKind.Button => [$"Click the {widget.Colour.Name} '{widget.Label}' button.", $"Click the '{widget.Label}' button.", $"Press the {widget.Colour.Name} button labelled '{widget.Label}'."],
            WidgetKind.Icon => [$"Click the {widget.Colour.Name} {widget.Label} icon.", $"Tap the {widget.Colour.Name} {widget.Label}."],
            WidgetKind.Tab => [$"Open the '{widget.Label}' tab.", $"Switch to the {widget.Label} tab."],
            WidgetKind.ListRow => [$"Select '{widget.Label}' in the list.", $"Open the file '{widget.Label}'."],
            WidgetKind.TextField => [$"Click the '{widget.Label}' field.", $"Click into the {widget.Label} box."],
            WidgetKind.DialogButton => [$"Click '{widget.Label}' in the dialog.", $"Answer the dialog with '{widget.Label}'."],
            _ => throw new ArgumentOutOfRangeException(nameof(widget), widget.Kind, "Unknown widget kind."),
        };
        return options[random.Next(options.Length)];
    }

    public static string ClickThought(Widget widget)
    {
        ArgumentNullException.ThrowIfNull(widget);
        return $"I click the {widget.Description}.";
    }

    public static string ScreensAgo(int n) => n == 1 ? "1 screen ago" : $"{n} screens ago";

    public static string RecallPosition(Widget widget, int screensAgo, Random random)
    {
        ArgumentNullException.ThrowIfNull(widget);
        ArgumentNullException.ThrowIfNull(random);
        string[] options =
        [
            $"Click where the {widget.Description} was {ScreensAgo(screensAgo)}.",
            $"Go back to the spot of the {widget.Description} from {ScreensAgo(screensAgo)} and click there.",
        ];
        return options[random.Next(options.Length)];
    }

    public static string RecallPositionThought(Widget widget, int screensAgo)
    {
        ArgumentNullException.ThrowIfNull(widget);
        return $"The {widget.Description} was there {ScreensAgo(screensAgo)}.";
    }

    public static string RecallSelection(int screensAgo, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        string[] options =
        [
            $"Open the file that was selected {ScreensAgo(screensAgo)}.",
            $"Click the file that was highlighted {ScreensAgo(screensAgo)}.",
        ];
        return options[random.Next(options.Length)];
    }

    public static string RecallSelectionThought(string file, int screensAgo) => $"The file selected {ScreensAgo(screensAgo)} was '{file}'.";

    public static string Type(string word, Widget field) => $"Type '{word}' into the {field.Label} field.";

    public static string TypeThought(Widget field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return $"The {field.Label} field is focused, so I type the text.";
    }

    public static string Scroll(string direction, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        string[] options = [$"Scroll {direction} in the file list.", $"Scroll the list {direction}."];
        return options[random.Next(options.Length)];
    }

    public static string ScrollThought(string direction) => $"I scroll {direction} through the list.";

    public static string Finish(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        string[] options = ["Everything is done. Finish the task.", "The work is complete; report that the task is finished."];
        return options[random.Next(options.Length)];
    }

    public const string FinishThought = "The task is complete.";
}
