using StarKv.GpuWorker.Text;

namespace StarKv.GpuWorker.TinyModel;

/// <summary>The text the tiny tokenizer's merges are learned from: the UI-TARS prompts and typical agent replies.</summary>
public static class TinyCorpus
{
    public static IReadOnlyList<string> Texts { get; } =
    [
        UiTarsPrompts.Computer("Open the settings and turn on dark mode."),
        UiTarsPrompts.Mobile("Add an event to the calendar for tomorrow."),
        UiTarsPrompts.Grounding("search button"),
        UiTarsPrompts.SystemPrompt,
        "Thought: The search box is at the top of the page. I will click on it to type the query.\nAction: click(point='<point>512 64</point>')",
        "Thought: I need to open the menu in the top left corner.\nAction: click(point='<point>24 30</point>')",
        "Thought: The text field is focused, so I type the address and press enter.\nAction: type(content='hello world\\n')",
        "Thought: The list continues below the window. Scroll down to show more items.\nAction: scroll(point='<point>640 400</point>', direction='down')",
        "Thought: Copy the selected text with the keyboard.\nAction: hotkey(key='ctrl c')",
        "Thought: Drag the slider to the right to increase the volume.\nAction: drag(start_point='<point>100 200</point>', end_point='<point>300 200</point>')",
        "Thought: Open the file with a double click on its icon.\nAction: left_double(point='<point>88 120</point>')",
        "Thought: Show the context menu of the folder.\nAction: right_single(point='<point>150 260</point>')",
        "Thought: The page is still loading, wait for it.\nAction: wait()",
        "Thought: The task is done.\nAction: finished(content='The event was added.')",
        "Thought: Go back to the previous screen.\nAction: press_back()",
        "Thought: Return to the home screen and open the app.\nAction: open_app(app_name='Calendar')",
        "Thought: Press and hold the message to select it.\nAction: long_press(point='<point>360 720</point>')",
        "click the button, select the tab, open the window, close the dialog, search for the file, save the document",
        "settings, profile, account, login, password, email, message, calendar, event, photo, music, video, download",
        "menu, icon, button, text, field, list, item, page, link, image, search, home, back, next, previous, more",
        "0 1 2 3 4 5 6 7 8 9 10 20 30 40 50 64 100 128 200 256 300 400 500 512 600 640 700 720 800 900 1000 1080 1920",
    ];
}
