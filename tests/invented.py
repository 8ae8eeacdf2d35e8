"""Invented articles the writer tests add to an index (facts no seed article holds), and the incoming document
a writer takes for one."""

from qa.intake import IncomingDocument

TOWN = "青石镇新闻\n青石镇今年新建了四十七座风力发电站，总投资约十二亿元。镇长李明远表示，这些电站将在年底前全部并网发电。\n"
TOWN_QUESTION = "青石镇新建了多少座风力发电站？"
HARBOUR = "白沙港简报\n白沙港去年完成集装箱吞吐量三百八十万标箱，同比增长百分之九。港口集团总经理赵方舟介绍了新码头的建设进度。\n"
HARBOUR_QUESTION = "白沙港去年完成集装箱吞吐量多少？"
SEED_QUESTION = "株洲截至4月底签约了多少个项目？"


def incoming(name: str, text: str) -> IncomingDocument:
    """A document as `qa add` or an upload hands it to a writer."""
    return IncomingDocument(name=name, data=text.encode("utf-8"))
